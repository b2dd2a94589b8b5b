// A KVM virtual machine: its memory slots and its vCPUs.
import { KVM_CREATE_VCPU, KVM_SET_USER_MEMORY_REGION } from "./ioctls.js";
import { encodeMemoryRegion, type MemoryRegion } from "./structs.js";
import { close, ioctl, ioctlValue } from "./sys.js";
import { Vcpu } from "./vcpu.js";

export class Vm {
  private readonly vcpus: Vcpu[] = [];

  constructor(
    readonly fd: number,
    readonly vcpuMmapSize: number,
  ) {}

  setUserMemoryRegion(region: MemoryRegion): void {
    ioctl(this.fd, KVM_SET_USER_MEMORY_REGION, encodeMemoryRegion(region), "KVM_SET_USER_MEMORY_REGION");
  }

  createVcpu(id: number): Vcpu {
    const fd = ioctlValue(this.fd, KVM_CREATE_VCPU, id, "KVM_CREATE_VCPU");
    const vcpu = Vcpu.map(fd, id, this.vcpuMmapSize);
    this.vcpus.push(vcpu);
    return vcpu;
  }

  /** Releases every vCPU (fd and kvm_run mapping) and the VM fd. */
  close(): void {
    for (const vcpu of this.vcpus.splice(0)) vcpu.close();
    close(this.fd);
  }
}
