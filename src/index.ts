// The tsvmm library: build a machine from a config, run it, read why it stopped.
export { type CpuModel, parseCpuModel } from "./arch/x86/cpuid.js";
export type { EntryMode } from "./arch/x86/regs.js";
export { type Bus, type BusDevice, IoBus } from "./bus/io_bus.js";
export { Uart16550 } from "./devices/legacy/uart16550.js";
export { UserError } from "./errors.js";
export { Kvm, KvmUnavailableError } from "./kvm/system.js";
export { GuestMemory, GuestMemoryError } from "./memory/guest_memory.js";
export {
  type BootInfo,
  createMachine,
  type FlatImage,
  type KernelImage,
  MAX_CPUS,
  Machine,
  type MachineConfig,
  type MachineState,
  type RunResult,
} from "./vmm/machine.js";
export { runVcpu, StopFlag, type StopReason } from "./vmm/vcpu_loop.js";
