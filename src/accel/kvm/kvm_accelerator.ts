// KVM behind the accelerator seam: /dev/kvm opened once, VMs with their memory slots registered and, when
// asked, the in-kernel PIC, IOAPIC, local APICs and PIT.

import type { CpuidEntry } from "../../arch/x86/cpu_state.js";
import { KVM_IDENTITY_MAP_ADDR, KVM_TSS_ADDR } from "../../arch/x86/layout.js";
import { UserError } from "../../errors.js";
import type { GuestMemory, RegionLayout } from "../../memory/guest_memory.js";
import type { Accelerator, VmOptions } from "../accelerator.js";
import { KVM_CAP_IRQCHIP, KVM_CAP_PIT2 } from "./ioctls.js";
import { holdKickHandler, releaseKickHandler } from "./kick_signal.js";
import { createKvmMemory } from "./memory.js";
import { Kvm } from "./system.js";
import type { Vm } from "./vm.js";

export class KvmAccelerator implements Accelerator {
  readonly name = "kvm";
  private supported: CpuidEntry[] | undefined;
  private closed = false;

  private constructor(readonly kvm: Kvm) {
    // vCPU threads are kicked out of KVM_RUN with a signal, harmless only while a handler exists.
    holdKickHandler();
  }

  /** Opens the KVM device; throws KvmUnavailableError (a UserError) when it cannot be used. */
  static open(path?: string): KvmAccelerator {
    return new KvmAccelerator(Kvm.open(path));
  }

  supportedCpuid(): CpuidEntry[] {
    this.supported ??= this.kvm.supportedCpuid();
    return this.supported.map((e) => ({ ...e }));
  }

  createMemory(layout: readonly RegionLayout[]): GuestMemory {
    return createKvmMemory(layout);
  }

  createVm(memory: GuestMemory, options: VmOptions): Vm {
    const vm = this.kvm.createVm();
    try {
      if (options.irqchip) this.createInterruptControllers(vm);
      memory.regions.forEach((r, slot) => {
        if (r.hostAddr === undefined) throw new Error("KVM runs guest memory from KvmAccelerator.createMemory only");
        vm.setUserMemoryRegion({
          slot,
          flags: 0,
          guestPhysAddr: BigInt(r.gpa),
          memorySize: BigInt(r.size),
          userspaceAddr: r.hostAddr,
        });
      });
      return vm;
    } catch (e) {
      vm.close();
      throw e;
    }
  }

  /** The PC's interrupt controllers and timer, in the kernel; KVM needs its TSS and identity-map pages first. */
  private createInterruptControllers(vm: Vm): void {
    for (const [cap, name] of [
      [KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"],
      [KVM_CAP_PIT2, "KVM_CAP_PIT2"],
    ] as const) {
      if (this.kvm.checkExtension(cap) <= 0) {
        throw new UserError(`this host's KVM lacks ${name}: no in-kernel irqchip`);
      }
    }
    vm.setTssAddr(KVM_TSS_ADDR);
    vm.setIdentityMapAddr(KVM_IDENTITY_MAP_ADDR);
    vm.createIrqchip();
    vm.createPit2();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    releaseKickHandler();
    this.kvm.close();
  }
}
