// The emulator's vCPUs behind the seam. The architectural state lives in a SharedArrayBuffer: the main thread
// reads and sets it between runs (EmuVcpu), the worker that runs the vCPU loads it into a live Cpu at the start
// of each run and saves it at the end (RunnableEmuVcpu).
import type { CpuidEntry, MpStateValue, MsrEntry, Regs, Sregs } from "../../arch/x86/cpu_state.js";
import type { Bus } from "../../bus/io_bus.js";
import type { Clock } from "../../devices/irqchip/clock.js";
import type { PcIrqChip } from "../../devices/irqchip/pc_irqchip.js";
import type { GuestMemory } from "../../memory/guest_memory.js";
import type { AccelVcpu, EmuVcpuHandle, RunHooks, RunnableVcpu, VcpuExit } from "../accelerator.js";
import { ATTR_P, ATTR_S, ATTR_UNUSABLE, Cpu, CR0_ET, CS, LDTR, TR } from "./cpu.js";
import { FAULT } from "./fault.js";
import { Interpreter } from "./interpreter.js";
import { Memory } from "./memory.js";
import { readMsr, writeMsr } from "./msrs.js";
import { unimplementedSeen } from "./opcodes.js";
import { ACCESS_USER } from "./paging.js";
import { PortIo } from "./port_io.js";
import { createStateBuffer, mpStateOf, regsOf, StateBuffer, setRegsOf, setSregsOf, sregsOf } from "./vcpu_state.js";
import "./ops/index.js";

/** The processor's state after RESET (Intel SDM vol. 3, 10.1.1), before tsvmm sets an entry state. */
function resetState(cpu: Cpu): void {
  const data = ATTR_P | ATTR_S | 0x3;
  for (let s = 0; s < 6; s++) {
    cpu.segSel[s] = 0;
    cpu.segBase[s] = 0;
    cpu.segLimit[s] = 0xffff;
    cpu.segAttr[s] = data;
  }
  cpu.segSel[CS] = 0xf000;
  cpu.segBase[CS] = 0xffff0000;
  cpu.segAttr[CS] = ATTR_P | ATTR_S | 0xb;
  cpu.segLimit[LDTR] = 0xffff;
  cpu.segAttr[LDTR] = 0x2 | ATTR_P;
  cpu.segLimit[TR] = 0xffff;
  cpu.segAttr[TR] = 0xb | ATTR_P;
  cpu.idtLimit = 0xffff;
  cpu.gdtLimit = 0xffff;
  cpu.ip = 0xfff0;
  cpu.cr0 = CR0_ET | (1 << 30) | (1 << 29);
  cpu.updateMode();
  void ATTR_UNUSABLE;
}

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
    resetState(cpu);
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
class RunnableEmuVcpu extends EmuVcpuBase implements RunnableVcpu {
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

  attachIrqChip(chip: PcIrqChip, clock: Clock): void {
    const apic = chip.lapics[this.id];
    if (!apic) throw new RangeError(`the irqchip has no local APIC for vCPU ${this.id}`);
    this.live.platform = {
      apic,
      nowNs: () => clock.nowNs(),
      poll: () => chip.poll(),
      nextDeadlineNs: () => chip.nextDeadlineNs(),
    };
  }

  run(bus: Bus, hooks: RunHooks): VcpuExit {
    const cpu = this.live;
    this.state.load(cpu);
    cpu.cpuid = this.state.cpuid();
    // The APIC's TSC-deadline timer reads the vCPU's TSC.
    if (cpu.platform) cpu.platform.apic.timer.tscOffset = cpu.tscOffset;
    cpu.mem.tlb.flushAll();
    this.running = true;
    try {
      return this.interpreter.run(bus, hooks);
    } finally {
      this.running = false;
      this.state.save(cpu);
      this.state.setNotes(unimplementedSeen);
    }
  }

  close(): void {}
}

export function openEmuVcpu(handle: EmuVcpuHandle, memory: GuestMemory): RunnableVcpu {
  return new RunnableEmuVcpu(handle, memory);
}

export { ACCESS_USER };
