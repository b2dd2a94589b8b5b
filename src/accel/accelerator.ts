// The accelerator seam: what the VMM asks of whatever runs guest code, KVM or tsvmm's own x86-64 emulator.
// Shaped after cloud-hypervisor's Hypervisor/Vm/Vcpu and crosvm's Vcpu::handle_io: an interpreter must perform
// port and MMIO accesses in the middle of an instruction (rep outs, a push onto MMIO), so the bus is handed to
// the vCPU's run, and run returns only for what the VMM must decide.
import type { CpuidEntry, MpStateValue, MsrEntry, Regs, Sregs } from "../arch/x86/cpu_state.js";
import type { AddressSpace, Bus } from "../bus/io_bus.js";
import type { IdleClock } from "../devices/irqchip/clock.js";
import type { PcIrqChip } from "../devices/irqchip/pc_irqchip.js";
import type { GuestMemory } from "../memory/guest_memory.js";

export const ACCEL_NAMES = ["kvm", "emu"] as const;
export type AccelName = (typeof ACCEL_NAMES)[number];

/** Why a vCPU's run returned to the VMM. */
export type VcpuExit =
  /** HLT that nothing will wake (no interrupt controller, or interrupts disabled). */
  | { kind: "halt" }
  /** Triple fault. */
  | { kind: "shutdown" }
  /** A single-step trap after the instruction ending at `pc`. */
  | { kind: "debug"; pc: bigint }
  /** The host kicked the vCPU (see RunHooks.kick) or an AP was woken: the VMM looks at its requests. */
  | { kind: "interrupted" }
  /** RunHooks.afterAccess asked to end the run (a device stopped the VM). */
  | { kind: "device-stop" }
  /** A platform event the accelerator reports (KVM_SYSTEM_EVENT). */
  | { kind: "system-event"; event: "poweroff" | "reset" | "crash"; detail: string }
  /** The accelerator could not run the guest; `message` names why (KVM's exit name and data, or the emulator's). */
  | { kind: "failure"; message: string };

/** One port or MMIO access, as --trace shows it. */
export interface Access {
  space: AddressSpace;
  addr: number;
  write: boolean;
  /** The bytes written, or read back from the device. */
  data: Uint8Array;
}

export interface RunHooks {
  /**
   * One cell of a shared Int32Array: non-zero asks run() to return { kind: "interrupted" } at the next
   * instruction boundary (run clears it). Under KVM the signal that interrupts KVM_RUN comes with it.
   */
  kick: Int32Array;
  /** Called after every port or MMIO access; true ends the run with { kind: "device-stop" } (after the instruction). */
  afterAccess(): boolean;
  /** Every access as it completes (--trace); called before afterAccess. */
  onAccess?: (access: Access) => void;
  /** Counts exits: KVM_RUN returns under KVM; port/MMIO accesses and stops under the emulator. */
  stats: { exits: number };
}

/** A vCPU's architectural state, readable and writable while it is not running. */
export interface VcpuStateAccess {
  getRegs(): Regs;
  setRegs(regs: Regs): void;
  getSregs(): Sregs;
  setSregs(sregs: Sregs): void;
  getMsrs(indices: readonly number[]): MsrEntry[];
  /** Throws naming the first MSR the accelerator refused. */
  setMsrs(entries: readonly MsrEntry[]): void;
  setCpuid(entries: readonly CpuidEntry[]): void;
  getMpState(): MpStateValue;
  setMpState(state: MpStateValue): void;
  /** A linear address through the guest's current paging mode. */
  translate(linear: bigint): { physical: bigint; valid: boolean };
  /** Trap after every instruction (run returns { kind: "debug" }). */
  setSingleStep(on: boolean): void;
  /** What the accelerator wants said in a fault report (e.g. "opcode 0f 0b ... is not implemented"). */
  notes(): string[];
}

/** What a worker thread needs to rebuild a vCPU (structured-cloneable). */
export type VcpuHandle = KvmVcpuHandle | EmuVcpuHandle;
export interface KvmVcpuHandle {
  accel: "kvm";
  fd: number;
  id: number;
  runAddr: bigint;
  runSize: number;
  /** One shared cell: the id of the thread inside run(), which interrupt() signals (0 when none). */
  thread: Int32Array;
}
export interface EmuVcpuHandle {
  accel: "emu";
  id: number;
  /** The vCPU's architectural state, shared between the main thread and the vCPU's worker. */
  state: SharedArrayBuffer;
}

export interface AccelVcpu extends VcpuStateAccess {
  readonly id: number;
  readonly handle: VcpuHandle;
  /**
   * From another thread, after setting RunHooks.kick: whatever else makes a run() in progress notice it now.
   * KVM needs it (immediate_exit and a signal out of KVM_RUN); an emulator that polls the cell does not.
   */
  interrupt?(): void;
  close(): void;
}

/** A vCPU that can run: built on the thread that runs it. */
export interface RunnableVcpu extends AccelVcpu {
  run(bus: Bus, hooks: RunHooks): VcpuExit;
  /**
   * Under the emulator, the machine's userspace interrupt controllers and timers (built on the vCPU's thread):
   * the vCPU takes interrupts from its local APIC, `chip.lapics[id]`. KVM keeps its in-kernel irqchip.
   */
  attachIrqChip?(chip: PcIrqChip, clock: IdleClock): void;
}

export interface VmOptions {
  /** Interrupt controllers and timers (in-kernel under KVM). */
  irqchip: boolean;
}

/** What a thread needs to raise the VM's interrupt lines (structured-cloneable). */
export type IrqLinesHandle = { accel: "kvm"; vmFd: number };

export interface AccelVm {
  createVcpu(id: number): AccelVcpu;
  /** Interrupt lines for devices on other threads; undefined without interrupt controllers. */
  readonly irqLines?: IrqLinesHandle | undefined;
  close(): void;
}

export interface Accelerator {
  readonly name: AccelName;
  /** The CPUID leaves this accelerator can present, before a CPU model filters them. */
  supportedCpuid(): CpuidEntry[];
  /** Guest RAM of the kind this accelerator runs on (mmapped for KVM; SharedArrayBuffers for the emulator). */
  createMemory(layout: readonly { gpa: number; size: number }[]): GuestMemory;
  createVm(memory: GuestMemory, options: VmOptions): AccelVm;
  close(): void;
}
