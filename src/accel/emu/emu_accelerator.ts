// The emulator as an accelerator: guest RAM in SharedArrayBuffers (no native code, nothing Linux-specific),
// vCPUs whose state is shared with the worker that runs them.
import type { CpuidEntry } from "../../arch/x86/cpu_state.js";
import { GuestMemory } from "../../memory/guest_memory.js";
import type { Accelerator, AccelVcpu, AccelVm, VmOptions } from "../accelerator.js";
import { emulatorCpuid } from "./cpuid_model.js";
import { EmuVcpu } from "./emu_vcpu.js";

class EmuVm implements AccelVm {
  constructor(private readonly memory: GuestMemory) {}

  createVcpu(id: number): AccelVcpu {
    return new EmuVcpu(id, this.memory);
  }

  close(): void {}
}

export class EmuAccelerator implements Accelerator {
  readonly name = "emu" as const;

  supportedCpuid(): CpuidEntry[] {
    return emulatorCpuid();
  }

  createMemory(layout: readonly { gpa: number; size: number }[]): GuestMemory {
    return GuestMemory.createShared(layout);
  }

  /** With an irqchip, the controllers are built on the vCPU's thread (PcIrqChip) and attached to the vCPU. */
  createVm(memory: GuestMemory, _options: VmOptions): AccelVm {
    return new EmuVm(memory);
  }

  close(): void {}
}
