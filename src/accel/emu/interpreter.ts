// The run loop: decoded basic blocks cached by the guest physical address of their first byte, dropped when
// a write touches their page (the guest's own, a device's or a loader's). Requests from the host (kick, device
// stop) are checked between blocks; faults unwind an instruction and are delivered before the next block.

import { MpState } from "../../arch/x86/cpu_state.js";
import type { Bus } from "../../bus/io_bus.js";
import type { RunHooks, VcpuExit } from "../accelerator.js";
import { type CompiledBlock, compileBlock, isJcc } from "./block_compiler.js";
import { type Cpu, CR0_PG, CS, SS } from "./cpu.js";
import { decode } from "./decoder.js";
import { DB, FAULT, fault, GP, NMI } from "./fault.js";
import { IF, TF } from "./flags.js";
import type { Insn } from "./insn.js";
import { deliver, deliverException, EventKind, TripleFault } from "./interrupts.js";
import { FetchOutsideRam } from "./memory.js";
import type { EmuPlatform } from "./platform.js";
import { resetProcessor, startupAt } from "./processor_reset.js";

/** What a run returns: an exit for the VMM, or (when taking turns with other vCPUs) a reason to switch. */
export type SlicedExit = VcpuExit | { kind: "yield" } | { kind: "idle" };

/** The most instructions in one block: bounds the time between checks for host requests. */
const MAX_BLOCK_INSNS = 64;
/** Blocks run between two reads of the kick cell. */
const KICK_POLL_BLOCKS = 16;
/** Compiled blocks run back to back before the loop looks at requests, interrupts and timers again. */
const CHAIN_BLOCKS = 8;
/** Timers are polled every this many blocks (a few microseconds), and whenever a halted vCPU wakes. */
const TIMER_POLL_BLOCKS = 64;
/** Runs of a block before it is compiled into one JavaScript function. */
const HOT_BLOCK_RUNS = 32;
/** A direct-mapped cache of blocks by physical address in front of the map. */
const L1_SIZE = 1 << 14;
const L1_MASK = L1_SIZE - 1;

class Block {
  valid = true;
  runs = 0;
  compiled: CompiledBlock | undefined;
  /** The length of the block's code in bytes. */
  readonly bytes: number;
  constructor(
    readonly phys: number,
    readonly codeSize: number,
    readonly insns: Insn[],
    readonly pages: number[],
  ) {
    let n = 0;
    for (const i of insns) n += i.len;
    this.bytes = n;
  }
}

export class Interpreter {
  private readonly blocks = new Map<number, Block>();
  private readonly pageBlocks = new Map<number, Block[]>();
  private current: Block | undefined;
  private readonly l1Tag = new Float64Array(L1_SIZE).fill(-1);
  private readonly l1Block: (Block | undefined)[] = new Array(L1_SIZE).fill(undefined);

  /** `compile: false` runs every block through the handlers (differential tests of the block compiler). */
  constructor(
    private readonly cpu: Cpu,
    private readonly options: { compile?: boolean } = {},
  ) {
    // Writes by any vCPU of this thread, a device or a loader drop stale code (code_pages.ts).
    cpu.mem.code.listen((page) => this.invalidatePage(page));
  }

  /** Drops every cached block (e.g. after the host rewrote guest memory). */
  flush(): void {
    for (const b of this.blocks.values()) b.valid = false;
    this.blocks.clear();
    this.pageBlocks.clear();
    this.l1Tag.fill(-1);
  }

  private invalidatePage(page: number): void {
    const list = this.pageBlocks.get(page);
    if (list) {
      for (const b of list) {
        b.valid = false;
        if (this.blocks.get(b.phys) === b) this.blocks.delete(b.phys);
        const slot = b.phys & L1_MASK;
        if (this.l1Block[slot] === b) this.l1Tag[slot] = -1;
      }
      this.pageBlocks.delete(page);
    }
    if (this.current && !this.current.valid) this.cpu.stopBlock = true;
  }

  /** The byte at code offset `offset` in CS, fetched as the processor would (limit, then paging). */
  private readonly fetch = (offset: number): number => {
    const cpu = this.cpu;
    if (cpu.codeSize === 8) return cpu.mem.fetch8(offset + 0);
    const off = cpu.codeSize === 4 ? offset >>> 0 : offset & 0xffff;
    if (off > cpu.segLimit[CS]!) fault(GP, 0);
    return cpu.mem.fetch8((cpu.segBase[CS]! + off) >>> 0);
  };

  /** The block at CS:RIP; single-stepping (`stepping`) runs fresh one-instruction blocks. */
  private lookup(stepping: boolean): Block {
    const cpu = this.cpu;
    const lin = cpu.codeSize === 8 ? cpu.ip : (cpu.segBase[CS]! + cpu.ip) >>> 0;
    const phys = cpu.mem.translateFetch(lin);
    const slot = phys & L1_MASK;
    if (this.l1Tag[slot] === phys) {
      const b = this.l1Block[slot]!;
      if (b.codeSize === cpu.codeSize && !stepping) {
        // The common case inline: one page, and 64-bit mode or all of it within the CS limit.
        if (b.pages.length < 2 && (cpu.codeSize === 8 || cpu.ip + b.bytes <= cpu.segLimit[CS]! + 1)) return b;
        if (this.stillValid(b, lin)) return b;
      }
    }
    const cached = this.blocks.get(phys);
    if (cached && cached.codeSize === cpu.codeSize && !stepping && this.stillValid(cached, lin)) {
      this.l1Tag[slot] = phys;
      this.l1Block[slot] = cached;
      return cached;
    }
    return this.build(phys, lin);
  }

  /**
   * Whether a cached block may run at CS:RIP (linear `lin`) as it stands. Outside 64-bit mode all of it must
   * lie within the CS limit, which may have shrunk since it was decoded (a rebuild then stops at the limit,
   * where the fetch faults). And a block whose last instruction straddles into the next linear page holds
   * bytes of the physical page that page mapped to when it was built; after a remap (INVLPG, a CR3 load) it
   * must not run them: checked through the TLB alone (no walk, so no side effects), a miss rebuilds it.
   */
  private stillValid(b: Block, lin: number): boolean {
    const cpu = this.cpu;
    if (cpu.codeSize !== 8 && cpu.ip + b.bytes - 1 > cpu.segLimit[CS]!) return this.drop(b);
    if (b.pages.length < 2) return true;
    const next = (Math.floor(lin / 4096) + 1) * 4096;
    const p = cpu.cr0 & CR0_PG ? cpu.mem.tlb.lookup(next, 0) : next;
    if (p >= 0 && Math.floor(p / 4096) === b.pages[1]) return true;
    return this.drop(b);
  }

  /** Drops a block for good (not just replaced), so that rebuilding it again and again does not grow the lists. */
  private drop(b: Block): false {
    b.valid = false;
    if (this.blocks.get(b.phys) === b) this.blocks.delete(b.phys);
    const slot = b.phys & L1_MASK;
    if (this.l1Block[slot] === b) this.l1Tag[slot] = -1;
    for (const page of b.pages) {
      const list = this.pageBlocks.get(page);
      if (list)
        this.pageBlocks.set(
          page,
          list.filter((x) => x !== b),
        );
    }
    return false;
  }

  private build(phys: number, lin: number): Block {
    const cpu = this.cpu;
    const insns: Insn[] = [];
    let ip = cpu.ip;
    const startPage = Math.floor(lin / 4096);
    const pages = new Set<number>([Math.floor(phys / 4096)]);
    while (insns.length < MAX_BLOCK_INSNS) {
      let insn: Insn;
      try {
        insn = decode(this.fetch, ip, cpu.codeSize);
      } catch (e) {
        // A fault fetching the first instruction is delivered; later ones wait until execution reaches them.
        if (insns.length === 0 || (e !== FAULT && !(e instanceof FetchOutsideRam))) throw e;
        break;
      }
      insns.push(insn);
      // Pages this instruction's bytes came from (it may straddle two).
      const first = cpu.codeSize === 8 ? ip : (cpu.segBase[CS]! + ip) >>> 0;
      const lastLin = first + insn.len - 1;
      if (Math.floor(lastLin / 4096) !== Math.floor(first / 4096)) {
        pages.add(Math.floor(cpu.mem.translateFetch(lastLin) / 4096));
      }
      ip += insn.len;
      // A conditional branch ends the block only when taken: the run loop and compiled blocks stop there.
      if ((insn.endsBlock && !isJcc(insn.op)) || cpu.singleStep || cpu.eflags & TF) break;
      const nextLin = first + insn.len;
      if (Math.floor(nextLin / 4096) !== startPage) break;
    }
    const block = new Block(phys, cpu.codeSize, insns, [...pages]);
    if (cpu.singleStep || cpu.eflags & TF) return block;
    this.blocks.set(phys, block);
    for (const page of pages) {
      if (page >= cpu.mem.codePages.length) continue;
      cpu.mem.codePages[page] = 1;
      const list = this.pageBlocks.get(page);
      if (list) list.push(block);
      else this.pageBlocks.set(page, [block]);
    }
    return block;
  }

  /**
   * At an instruction boundary: delivers an NMI, or a maskable interrupt when IF allows, from the local APIC
   * (which also hands over the 8259's vector through LINT0). Returns whether one was delivered.
   */
  private takeInterrupt(platform: EmuPlatform): boolean {
    const cpu = this.cpu;
    const apic = platform.apic;
    let vector: number;
    if (apic.pendingNmi) {
      apic.pendingNmi = false;
      vector = NMI;
    } else if (cpu.eflags & IF && apic.hasPendingInterrupt()) {
      vector = apic.acknowledge();
    } else return false;
    cpu.halted = false;
    try {
      deliver(cpu, vector, EventKind.EXTERNAL, 0, false);
    } catch (e) {
      if (e !== FAULT) throw e;
      deliverException(cpu, FAULT.vector, FAULT.errorCode, FAULT.hasErrorCode);
    }
    return true;
  }

  /**
   * Runs until something the VMM must decide. With `slice` (several vCPUs taking turns on one thread) it also
   * returns { kind: "yield" } after that many blocks, and { kind: "idle" } instead of sleeping when the vCPU
   * is halted or waits for a startup IPI, so the scheduler can run the others.
   */
  /**
   * INIT and startup IPIs (SDM vol. 3, 10.4): INIT resets the processor to wait for a SIPI; a SIPI then starts
   * it in real mode at vector:0000. Returns whether the vCPU may run.
   */
  private startupStep(platform: EmuPlatform): boolean {
    const cpu = this.cpu;
    const apic = platform.apic;
    if (apic.pendingInit) {
      // INIT then SIPI may both have arrived while this vCPU waited for its turn: keep the SIPI.
      const sipi = apic.pendingSipiVector;
      resetProcessor(cpu);
      apic.reset(true);
      apic.pendingSipiVector = sipi;
      cpu.mpState = MpState.INIT_RECEIVED;
    }
    if (cpu.mpState === MpState.INIT_RECEIVED && apic.pendingSipiVector !== undefined) {
      startupAt(cpu, apic.pendingSipiVector);
      apic.pendingSipiVector = undefined;
      cpu.mpState = MpState.RUNNABLE;
    }
    // A SIPI outside the wait-for-SIPI state is dropped.
    apic.pendingSipiVector = undefined;
    return cpu.mpState === MpState.RUNNABLE;
  }

  run(bus: Bus, hooks: RunHooks, slice?: number): SlicedExit {
    const cpu = this.cpu;
    let budget = slice ?? Number.POSITIVE_INFINITY;
    const sink = {
      bus,
      onAccess: hooks.onAccess,
      afterAccess: () => hooks.afterAccess(),
    };
    cpu.mem.sink = sink;
    cpu.io.sink = sink;
    const kick = hooks.kick;
    const accessesBefore = cpu.io.accesses + cpu.mem.mmioAccesses;
    const count = <T extends SlicedExit>(exit: T): T => {
      const turn = exit.kind === "yield" || exit.kind === "idle";
      hooks.stats.exits += cpu.io.accesses + cpu.mem.mmioAccesses - accessesBefore + (turn ? 0 : 1);
      return exit;
    };
    // The kick cell is read every KICK_POLL_BLOCKS blocks (at most 64 instructions each, so a kick still lands
    // within microseconds): an atomic load per block was a tenth of bench/emu's time.
    let poll = 0;
    let timerPoll = 0;
    try {
      for (;;) {
        if (--poll < 0 && Atomics.load(kick, 0) !== 0) {
          Atomics.store(kick, 0, 0);
          return count({ kind: "interrupted" });
        }
        if (poll < 0) poll = KICK_POLL_BLOCKS;
        if (cpu.io.deviceStop || cpu.mem.deviceStop) {
          cpu.io.deviceStop = false;
          cpu.mem.deviceStop = false;
          return count({ kind: "device-stop" });
        }
        if (--budget < 0) return count({ kind: "yield" });
        const platform = cpu.platform;
        if (platform) {
          if (platform.apic.pendingInit || cpu.mpState !== MpState.RUNNABLE) {
            if (!this.startupStep(platform)) {
              if (slice !== undefined) return count({ kind: "idle" });
              // A lone vCPU waiting for a startup IPI that nobody can send.
              return count({ kind: "halt" });
            }
          }
          if (--timerPoll < 0) {
            timerPoll = TIMER_POLL_BLOCKS;
            platform.poll();
          }
          if (cpu.interruptShadow) cpu.interruptShadow = false;
          else if (this.takeInterrupt(platform)) continue;
        }
        if (cpu.halted) {
          if (slice !== undefined) return count({ kind: "idle" });
          // Without an irqchip, or with interrupts off, nothing can wake a lone vCPU: the run ends as a halt.
          if (!platform || !(cpu.eflags & IF)) return count({ kind: "halt" });
          // Sleep until the next timer or a kick (input, a stop, a pause), costing no CPU.
          platform.idle(kick);
          platform.poll();
          poll = -1;
          continue;
        }
        const stepping = cpu.singleStep || (cpu.eflags & TF) !== 0;
        let ssShadow = false;
        try {
          const block = this.lookup(stepping);
          this.current = block;
          if (block.compiled && !stepping) {
            cpu.retired += block.compiled(cpu);
            // Chaining: straight on into the next compiled blocks while nothing asks for the loop (a halt, a
            // device stop, an interrupt shadow, a trap flag, the end of a slice). Pending interrupts, kicks
            // and timers wait at most CHAIN_BLOCKS blocks longer.
            for (let j = CHAIN_BLOCKS; j > 0; j--) {
              if (cpu.halted || cpu.interruptShadow || cpu.eflags & TF || cpu.singleStep) break;
              if (cpu.io.deviceStop || cpu.mem.deviceStop || budget < 1) break;
              const next = this.lookup(false);
              const run = next.compiled;
              if (!run) break;
              this.current = next;
              budget--;
              cpu.retired += run(cpu);
            }
            this.current = undefined;
            continue;
          }
          if (++block.runs === HOT_BLOCK_RUNS && !stepping && this.options.compile !== false)
            block.compiled = compileBlock(cpu, block.insns, block.codeSize);
          const insns = block.insns;
          const n = insns.length;
          let k = 0;
          while (k < n) {
            const i = insns[k++]!;
            const size = cpu.codeSize;
            const next = cpu.ip + i.len;
            const fallThrough = size === 8 ? next : size === 4 ? next >>> 0 : next & 0xffff;
            cpu.nextIp = fallThrough;
            i.exec(cpu, i);
            cpu.ip = cpu.nextIp;
            if (cpu.stopBlock) {
              cpu.stopBlock = false;
              break;
            }
            // A taken branch in the middle of the block (blocks run on past conditional branches).
            if (cpu.ip !== fallThrough) break;
          }
          cpu.retired += k;
          this.current = undefined;
          if (stepping) {
            // A single-stepped block is one instruction: MOV SS or POP SS holds the trap back (below).
            const s = insns[0]!;
            ssShadow = s.op === 0x17 || (s.op === 0x8e && (s.reg & 7) === SS);
          }
        } catch (e) {
          this.current = undefined;
          if (e !== FAULT) throw e;
          cpu.halted = false;
          deliverException(cpu, FAULT.vector, FAULT.errorCode, FAULT.hasErrorCode);
          continue;
        }
        if (stepping) {
          if (cpu.singleStep) return count({ kind: "debug", pc: BigInt(cpu.ip) });
          // TF: a #DB trap after the instruction; after MOV SS or POP SS only at the end of the next one, as
          // their shadow blocks debug traps too (SDM vol. 3, 6.8.3).
          if (ssShadow) continue;
          cpu.dr[6] = (cpu.dr[6]! | 0x4000) >>> 0;
          try {
            deliverException(cpu, DB, 0, false);
          } catch (e) {
            if (e instanceof TripleFault) return count({ kind: "shutdown" });
            throw e;
          }
        }
      }
    } catch (e) {
      if (e instanceof TripleFault) return count({ kind: "shutdown" });
      if (e instanceof FetchOutsideRam) return count({ kind: "failure", message: e.message });
      if (e instanceof Error && e.message.startsWith("task gates"))
        return count({ kind: "failure", message: e.message });
      throw e;
    }
  }
}
