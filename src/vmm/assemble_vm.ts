// Building a VM on an accelerator: guest memory, the VM, its vCPUs with their CPUID, boot MSRs and MP states,
// the image loaded and the boot vCPU put in its entry state.
import type { Accelerator, AccelVcpu, AccelVm } from "../accel/accelerator.js";
import { enterMode } from "../arch/x86/boot.js";
import { MpState, type Regs } from "../arch/x86/cpu_state.js";
import { buildCpuid } from "../arch/x86/cpuid.js";
import { bootMsrs } from "../arch/x86/msrs.js";
import type { GuestMemory } from "../memory/guest_memory.js";
import { type BootInfo, loadBootImage } from "./boot_image.js";
import { type FlatImage, type KernelImage, type MachineSettings, memoryLayout } from "./machine_config.js";

export interface AssembledVm {
  memory: GuestMemory;
  vm: AccelVm;
  vcpus: AccelVcpu[];
  boot: BootInfo;
}

/** Who supplies the CPU features, as --cpu errors name it. */
const CPUID_PROVIDER = { kvm: "this host's KVM", emu: "the emulator" } as const;

export function assembleVm(
  accelerator: Accelerator,
  settings: MachineSettings,
  image: FlatImage | KernelImage | undefined,
  regs: Partial<Regs> | undefined,
): AssembledVm {
  const memory = accelerator.createMemory(memoryLayout(settings));
  let vm: AccelVm | undefined;
  try {
    vm = accelerator.createVm(memory, { irqchip: settings.irqchip });
    const vcpus = createVcpus(accelerator, vm, settings);
    const loaded = loadBootImage(memory, image, settings);
    const boot = vcpus[0] as AccelVcpu;
    const entry = enterMode(loaded.boot.mode, memory, boot.getSregs(), loaded.boot.entry);
    Object.assign(entry.regs, loaded.regs, regs);
    boot.setSregs(entry.sregs);
    boot.setRegs(entry.regs);
    return { memory, vm, vcpus, boot: loaded.boot };
  } catch (e) {
    vm?.close();
    memory.close();
    throw e;
  }
}

/** vCPUs with their CPUID and boot MSRs; with the irqchip every AP waits for INIT-SIPI-SIPI. */
function createVcpus(accelerator: Accelerator, vm: AccelVm, settings: MachineSettings): AccelVcpu[] {
  const supported = accelerator.supportedCpuid();
  const { cpus, irqchip, cpuModel } = settings;
  const vcpus: AccelVcpu[] = [];
  for (let id = 0; id < cpus; id++) {
    const vcpu = vm.createVcpu(id);
    vcpus.push(vcpu);
    vcpu.setCpuid(buildCpuid(supported, { id, count: cpus }, cpuModel, CPUID_PROVIDER[accelerator.name]));
    vcpu.setMsrs(bootMsrs());
    // Application processors sleep until the boot CPU sends them INIT and SIPI through its local APIC.
    if (irqchip && id > 0) vcpu.setMpState(MpState.UNINITIALIZED);
  }
  return vcpus;
}
