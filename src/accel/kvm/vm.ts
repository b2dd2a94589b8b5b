// A KVM virtual machine: its memory slots, its in-kernel interrupt controllers and its vCPUs.
import type { AccelVm, IrqLinesHandle } from "../accelerator.js";
import {
  KVM_CREATE_IRQCHIP,
  KVM_CREATE_PIT2,
  KVM_CREATE_VCPU,
  KVM_IRQ_LINE,
  KVM_SET_IDENTITY_MAP_ADDR,
  KVM_SET_TSS_ADDR,
  KVM_SET_USER_MEMORY_REGION,
} from "./ioctls.js";
import { setupLapicLints } from "./lapic.js";
import { nativeKvm } from "./native_run.js";
import { encodeMemoryRegion, encodePitConfig, KVM_PIT_SPEAKER_DUMMY, type MemoryRegion } from "./structs.js";
import { close, ioctl, ioctlValue, SysError } from "./sys.js";
import { Vcpu } from "./vcpu.js";

export class Vm implements AccelVm {
  private readonly vcpus: Vcpu[] = [];
  // struct kvm_irq_level, reused: raising a line is frequent.
  private readonly irqLevel = new Uint32Array(2);
  private irqchip = false;

  constructor(
    readonly fd: number,
    readonly vcpuMmapSize: number,
  ) {}

  /** A view of a VM whose fd another thread owns, for raising its interrupt lines. */
  static fromIrqLines(handle: IrqLinesHandle): Vm {
    return new Vm(handle.vmFd, 0);
  }

  get irqLines(): IrqLinesHandle | undefined {
    return this.irqchip ? { accel: "kvm", vmFd: this.fd } : undefined;
  }

  setUserMemoryRegion(region: MemoryRegion): void {
    ioctl(this.fd, KVM_SET_USER_MEMORY_REGION, encodeMemoryRegion(region), "KVM_SET_USER_MEMORY_REGION");
  }

  /** Three pages of guest physical space KVM needs for the real-mode TSS on Intel hosts. */
  setTssAddr(gpa: number): void {
    ioctlValue(this.fd, KVM_SET_TSS_ADDR, gpa, "KVM_SET_TSS_ADDR");
  }

  /** One page for the identity-map page table KVM uses for unpaged guests on Intel hosts. */
  setIdentityMapAddr(gpa: number): void {
    const addr = new BigUint64Array([BigInt(gpa)]);
    ioctl(this.fd, KVM_SET_IDENTITY_MAP_ADDR, addr, "KVM_SET_IDENTITY_MAP_ADDR");
  }

  /** The in-kernel PIC pair, IOAPIC and per-vCPU local APICs, with the default GSI routing. */
  createIrqchip(): void {
    ioctlValue(this.fd, KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP");
    this.irqchip = true;
  }

  /** The in-kernel i8254 PIT (needs the irqchip), with a dummy speaker port. */
  createPit2(): void {
    ioctl(this.fd, KVM_CREATE_PIT2, encodePitConfig(KVM_PIT_SPEAKER_DUMMY), "KVM_CREATE_PIT2");
  }

  /** Sets the level of an interrupt line (GSI); callable from any thread. */
  irqLine(gsi: number, level: boolean): void {
    const native = nativeKvm();
    if (native) {
      const rc = native.irqLine(this.fd, gsi, level ? 1 : 0);
      if (rc < 0) throw new SysError("ioctl(KVM_IRQ_LINE)", -rc);
      return;
    }
    this.irqLevel[0] = gsi;
    this.irqLevel[1] = level ? 1 : 0;
    ioctl(this.fd, KVM_IRQ_LINE, this.irqLevel, "KVM_IRQ_LINE");
  }

  /** A vCPU; with the irqchip, its local APIC wired as a PC's firmware leaves it. */
  createVcpu(id: number): Vcpu {
    const fd = ioctlValue(this.fd, KVM_CREATE_VCPU, id, "KVM_CREATE_VCPU");
    const vcpu = Vcpu.map(fd, id, this.vcpuMmapSize);
    this.vcpus.push(vcpu);
    if (this.irqchip) setupLapicLints(vcpu);
    return vcpu;
  }

  /** Releases every vCPU (fd and kvm_run mapping) and the VM fd. */
  close(): void {
    for (const vcpu of this.vcpus.splice(0)) vcpu.close();
    close(this.fd);
  }
}
