// The tsvmm library: build a machine from a config, run it, read why it stopped.
export { type BusDevice, IoBus } from "./bus/io_bus.js";
export { Uart16550 } from "./devices/legacy/uart16550.js";
export { UserError } from "./errors.js";
export { Kvm, KvmUnavailableError } from "./kvm/system.js";
export { GuestMemory, GuestMemoryError } from "./memory/guest_memory.js";
export { createMachine, Machine, type MachineConfig, type RunResult } from "./vmm/machine.js";
export { runVcpu, StopFlag, type StopReason } from "./vmm/vcpu_loop.js";
