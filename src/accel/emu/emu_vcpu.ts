// The emulator's vCPUs behind the seam. The architectural state lives in a SharedArrayBuffer: the main thread
// reads and sets it between runs (EmuVcpu), the worker that runs the vCPU loads it into a live Cpu at the start
// of each run and saves it at the end (RunnableEmuVcpu).
import {
  type CpuidEntry,
  MpState,
  type MpStateValue,
  type MsrEntry,
  type Regs,
  type Sregs,
} from "../../arch/x86/cpu_state.js";
import type { Bus } from "../../bus/io_bus.js";
import type { IdleClock } from "../../devices/irqchip/clock.js";
import type { PcIrqChip } from "../../devices/irqchip/pc_irqchip.js";
import type { GuestMemory } from "../../memory/guest_memory.js";
import type { AccelVcpu, EmuVcpuHandle, RunHooks, RunnableVcpu, VcpuExit } from "../accelerator.js";
import { Cpu } from "./cpu.js";
import { FAULT } from "./fault.js";
import { IF as IF_FLAG } from "./flags.js";
import { Interpreter, type SlicedExit } from "./interpreter.js";
import { Memory } from "./memory.js";
import { readMsr, writeMsr } from "./msrs.js";
import { unimplementedSeen } from "./opcodes.js";
import { ACCESS_USER } from "./paging.js";
import type { EmuPlatform } from "./platform.js";
import { PortIo } from "./port_io.js";
import { resetProcessor } from "./processor_reset.js";
import { createStateBuffer, mpStateOf, regsOf, StateBuffer, setRegsOf, setSregsOf, sregsOf } from "./vcpu_state.js";
import "./ops/index.js";

/** A Cpu with no memory behind it: enough to convert state between the buffer and the neutral types. */
function detachedCpu(state: StateBuffer): Cpu {
  const cpu = new Cpu();
  state.load(cpu);
  return cpu;
}

/** State access shared by both views; `cpu()` gives a Cpu holding the current state, `commit` stores it. */
abstract class EmuVcpuBase {
  protected abstract cpu(): Cpu;
  protected abstract commit(cpu: Cpu): void;
  protected abstract readonly state: StateBuffer;

  getRegs(): Regs {
    return regsOf(this.cpu());
  }
  setRegs(regs: Regs): void {
    const cpu = this.cpu();
    setRegsOf(cpu, regs);
    this.commit(cpu);
  }
  getSregs(): Sregs {
    return sregsOf(this.cpu());
  }
  setSregs(sregs: Sregs): void {
    const cpu = this.cpu();
    setSregsOf(cpu, sregs);
    this.commit(cpu);
  }
  getMsrs(indices: readonly number[]): MsrEntry[] {
    const cpu = this.cpu();
    return indices.map((index) => ({
      index,
      data: withFault(() => readMsr(cpu, index), `MSR 0x${index.toString(16)}`),
    }));
  }
  setMsrs(entries: readonly MsrEntry[]): void {
    const cpu = this.cpu();
    for (const e of entries) withFault(() => writeMsr(cpu, e.index, e.data), `MSR 0x${e.index.toString(16)}`);
    this.commit(cpu);
  }
  setCpuid(entries: readonly CpuidEntry[]): void {
    this.state.setCpuid(entries);
  }
  getMpState(): MpStateValue {
    return mpStateOf(this.cpu());
  }
  setMpState(state: MpStateValue): void {
    const cpu = this.cpu();
    cpu.mpState = state;
    cpu.halted = false;
    this.commit(cpu);
  }
  translate(linear: bigint): { physical: bigint; valid: boolean } {
    const cpu = this.cpu();
    try {
      cpu.mem.supervisorOverride = true;
      const p = cpu.mem.translateRead(Number(BigInt.asIntN(64, linear)));
      return { physical: BigInt(p), valid: true };
    } catch (e) {
      if (e === FAULT) return { physical: 0n, valid: false };
      throw e;
    } finally {
      cpu.mem.supervisorOverride = false;
    }
  }
  setSingleStep(on: boolean): void {
    const cpu = this.cpu();
    cpu.singleStep = on;
    this.commit(cpu);
  }
  notes(): string[] {
    return this.state.notes();
  }
}

/** MSR accesses from the host report a refused MSR as an error, not a guest fault. */
function withFault<T>(fn: () => T, what: string): T {
  try {
    return fn();
  } catch (e) {
    if (e === FAULT) throw new Error(`the emulator has no ${what} (or refused its value)`);
    throw e;
  }
}

/** The main thread's view: state in the shared buffer. */
export class EmuVcpu extends EmuVcpuBase implements AccelVcpu {
  protected readonly state: StateBuffer;
  readonly handle: EmuVcpuHandle;

  constructor(
    readonly id: number,
    private readonly memory: GuestMemory,
  ) {
    super();
    const sab = createStateBuffer();
    this.state = new StateBuffer(sab);
    this.handle = { accel: "emu", id, state: sab };
    const cpu = new Cpu();
    resetProcessor(cpu);
    this.state.save(cpu);
  }

  protected cpu(): Cpu {
    const cpu = detachedCpu(this.state);
    // Translation needs the memory path; it is cheap to build.
    cpu.mem = new Memory(cpu, this.memory);
    cpu.io = new PortIo();
    return cpu;
  }

  protected commit(cpu: Cpu): void {
    this.state.save(cpu);
  }

  close(): void {}
}

/** The worker's view: a live Cpu and its interpreter. */
/** The longest an idle vCPU sleeps before looking again (a kick wakes it sooner). */
const MAX_IDLE_WAIT_MS = 1000;

export class RunnableEmuVcpu extends EmuVcpuBase implements RunnableVcpu {
  protected readonly state: StateBuffer;
  readonly handle: EmuVcpuHandle;
  readonly id: number;
  private readonly live = new Cpu();
  private readonly interpreter: Interpreter;
  private running = false;

  constructor(handle: EmuVcpuHandle, memory: GuestMemory) {
    super();
    this.handle = handle;
    this.id = handle.id;
    this.state = new StateBuffer(handle.state);
    this.live.mem = new Memory(this.live, memory);
    this.live.io = new PortIo();
    this.interpreter = new Interpreter(this.live);
  }

  protected cpu(): Cpu {
    if (!this.running) this.state.load(this.live);
    return this.live;
  }

  protected commit(cpu: Cpu): void {
    if (!this.running) this.state.save(cpu);
  }

  get cpuidEntries(): CpuidEntry[] {
    return this.state.cpuid();
  }

  attachIrqChip(chip: PcIrqChip, clock: IdleClock): void {
    const apic = chip.lapics[this.id];
    if (!apic) throw new RangeError(`the irqchip has no local APIC for vCPU ${this.id}`);
    this.live.platform = {
      apic,
      nowNs: () => clock.nowNs(),
      poll: () => chip.poll(),
      nextDeadlineNs: () => chip.nextDeadlineNs(),
      idle: (kick) => clock.idleUntil(chip.nextDeadlineNs(), kick, MAX_IDLE_WAIT_MS),
    };
  }

  run(bus: Bus, hooks: RunHooks): VcpuExit {
    this.enter();
    try {
      return this.interpreter.run(bus, hooks) as VcpuExit;
    } finally {
      this.leave();
    }
  }

  /** Takes the state from the shared buffer into the live CPU, before runs. */
  enter(): void {
    const cpu = this.live;
    this.state.load(cpu);
    cpu.cpuid = this.state.cpuid();
    // The APIC's TSC-deadline timer reads the vCPU's TSC.
    if (cpu.platform) cpu.platform.apic.timer.tscOffset = cpu.tscOffset;
    cpu.mem.tlb.flushAll();
    this.running = true;
  }

  /** One turn of at most `blocks` blocks, between enter() and leave() (several vCPUs on one thread). */
  slice(bus: Bus, hooks: RunHooks, blocks: number): SlicedExit {
    return this.interpreter.run(bus, hooks, blocks);
  }

  /** Puts the live state back in the shared buffer, after runs. */
  leave(): void {
    this.running = false;
    this.state.save(this.live);
    this.state.setNotes(unimplementedSeen);
  }

  /** Whether the vCPU is halted with interrupts disabled (or waits for a SIPI): only an INIT, NMI or SIPI wakes it. */
  get asleep(): boolean {
    const cpu = this.live;
    return (cpu.halted && !(cpu.eflags & IF_FLAG)) || cpu.mpState !== MpState.RUNNABLE;
  }

  /** The machine's next timer deadline and clock, when there is an irqchip. */
  get platform(): EmuPlatform | undefined {
    return this.live.platform;
  }

  close(): void {}
}

export function openEmuVcpu(handle: EmuVcpuHandle, memory: GuestMemory): RunnableEmuVcpu {
  return new RunnableEmuVcpu(handle, memory);
}

export { ACCESS_USER };
