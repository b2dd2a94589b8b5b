// Several emulated vCPUs taking turns on one thread. Chosen over a worker per vCPU because it is
// deterministic, LOCKed instructions and IPIs need no cross-thread protocol (one thread owns guest RAM's
// writes, the local APICs and the code caches), and these machines have two cores, one of which the device
// and console threads share. Each vCPU runs a slice of blocks in turn; when all are halted the thread sleeps
// until the next timer or a kick. To the VMM the group is one runnable vCPU: the boot CPU's state, every
// vCPU's exits.
import type { CpuidEntry, MpStateValue, MsrEntry, Regs, Sregs } from "../../arch/x86/cpu_state.js";
import type { Bus } from "../../bus/io_bus.js";
import type { IdleClock } from "../../devices/irqchip/clock.js";
import type { PcIrqChip } from "../../devices/irqchip/pc_irqchip.js";
import type { RunHooks, RunnableVcpu, VcpuExit, VcpuHandle } from "../accelerator.js";
import type { RunnableEmuVcpu } from "./emu_runnable.js";

/** Blocks a vCPU runs before the next one's turn (a few thousand instructions, tens of microseconds). */
const SLICE_BLOCKS = 256;

export class EmuSmpGroup implements RunnableVcpu {
  constructor(private readonly vcpus: readonly RunnableEmuVcpu[]) {
    if (vcpus.length === 0) throw new RangeError("an SMP group needs a vCPU");
  }

  private get boot(): RunnableEmuVcpu {
    return this.vcpus[0] as RunnableEmuVcpu;
  }

  get id(): number {
    return this.boot.id;
  }
  get handle(): VcpuHandle {
    return this.boot.handle;
  }

  attachIrqChip(chip: PcIrqChip, clock: IdleClock): void {
    for (const v of this.vcpus) v.attachIrqChip(chip, clock);
  }

  run(bus: Bus, hooks: RunHooks): VcpuExit {
    for (const v of this.vcpus) v.enter();
    try {
      for (;;) {
        let ran = false;
        for (const v of this.vcpus) {
          const exit = v.slice(bus, hooks, SLICE_BLOCKS);
          if (exit.kind === "yield") ran = true;
          else if (exit.kind !== "idle") return exit;
        }
        if (ran) continue;
        // Every vCPU is halted or waits for a startup IPI.
        if (this.vcpus.every((v) => v.asleep)) return { kind: "halt" };
        const platform = this.boot.platform;
        if (!platform) return { kind: "halt" };
        platform.idle(hooks.kick);
        platform.poll();
      }
    } finally {
      for (const v of this.vcpus) v.leave();
    }
  }

  // The VMM's view of the group's state is the boot CPU's (fault reports, traces, the library's vcpu).
  getRegs(): Regs {
    return this.boot.getRegs();
  }
  setRegs(regs: Regs): void {
    this.boot.setRegs(regs);
  }
  getSregs(): Sregs {
    return this.boot.getSregs();
  }
  setSregs(sregs: Sregs): void {
    this.boot.setSregs(sregs);
  }
  getMsrs(indices: readonly number[]): MsrEntry[] {
    return this.boot.getMsrs(indices);
  }
  setMsrs(entries: readonly MsrEntry[]): void {
    this.boot.setMsrs(entries);
  }
  setCpuid(entries: readonly CpuidEntry[]): void {
    this.boot.setCpuid(entries);
  }
  getMpState(): MpStateValue {
    return this.boot.getMpState();
  }
  setMpState(state: MpStateValue): void {
    this.boot.setMpState(state);
  }
  translate(linear: bigint): { physical: bigint; valid: boolean } {
    return this.boot.translate(linear);
  }
  setSingleStep(on: boolean): void {
    for (const v of this.vcpus) v.setSingleStep(on);
  }
  notes(): string[] {
    return this.boot.notes();
  }
  close(): void {
    for (const v of this.vcpus) v.close();
  }
}
