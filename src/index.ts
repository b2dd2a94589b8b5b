// The tsvmm library: build a machine from a config, run it, read why it stopped.
export type {
  Accelerator,
  AccelName,
  AccelVcpu,
  AccelVm,
  Access,
  RunHooks,
  RunnableVcpu,
  VcpuExit,
  VcpuHandle,
} from "./accel/accelerator.js";
export { type AccelChoice, KvmUnavailableError, openAccelerator } from "./accel/open.js";
export type { CpuidEntry, MsrEntry, Regs, Segment, Sregs } from "./arch/x86/cpu_state.js";
export { type CpuModel, parseCpuModel } from "./arch/x86/cpuid.js";
export type { EntryMode } from "./arch/x86/regs.js";
export { type Bus, type BusDevice, IoBus } from "./bus/io_bus.js";
export { Uart16550 } from "./devices/legacy/uart16550.js";
export { UserError } from "./errors.js";
export { GuestMemory, GuestMemoryError } from "./memory/guest_memory.js";
export type { BootInfo } from "./vmm/boot_image.js";
export { createMachine, Machine, type MachineState, type RunResult } from "./vmm/machine.js";
export { type FlatImage, type KernelImage, MAX_CPUS, type MachineConfig } from "./vmm/machine_config.js";
export { runVcpu, StopFlag, type StopReason } from "./vmm/vcpu_loop.js";
