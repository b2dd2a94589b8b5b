// The emulator's vCPUs behind the seam. The architectural state lives in a SharedArrayBuffer: the main thread
// reads and sets it between runs (EmuVcpu), the worker that runs the vCPU loads it into a live Cpu at the start
// of each run and saves it at the end (RunnableEmuVcpu, in emu_runnable.ts: only the worker loads the
// interpreter and the instruction handlers, which are most of the emulator's code).
import type { CpuidEntry, MpStateValue, MsrEntry, Regs, Sregs } from "../../arch/x86/cpu_state.js";
import type { GuestMemory } from "../../memory/guest_memory.js";
import type { AccelVcpu, EmuVcpuHandle } from "../accelerator.js";
import { Cpu } from "./cpu.js";
import { FAULT } from "./fault.js";
import { Memory } from "./memory.js";
import { readMsr, writeMsr } from "./msrs.js";
import { PortIo } from "./port_io.js";
import { resetProcessor } from "./processor_reset.js";
import { createStateBuffer, mpStateOf, regsOf, StateBuffer, setRegsOf, setSregsOf, sregsOf } from "./vcpu_state.js";

/** A Cpu with no memory behind it: enough to convert state between the buffer and the neutral types. */
function detachedCpu(state: StateBuffer): Cpu {
  const cpu = new Cpu();
  state.load(cpu);
  return cpu;
}

/** State access shared by both views; `cpu()` gives a Cpu holding the current state, `commit` stores it. */
export abstract class EmuVcpuBase {
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
