// A KVM vCPU: its registers, its kvm_run page and KVM_RUN itself.
// A Vcpu can be rebuilt in another thread from its fd and mapping address (fds and mappings are per process).
import {
  KVM_GET_LAPIC,
  KVM_GET_MP_STATE,
  KVM_GET_MSRS,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_RUN,
  KVM_SET_CPUID2,
  KVM_SET_GUEST_DEBUG,
  KVM_SET_LAPIC,
  KVM_SET_MP_STATE,
  KVM_SET_MSRS,
  KVM_SET_REGS,
  KVM_SET_SREGS,
  KVM_TRANSLATE,
} from "./ioctls.js";
import { nativeKvm } from "./native_run.js";
import { KvmRun } from "./run.js";
import {
  type CpuidEntry,
  decodeMsrs,
  decodeRegs,
  decodeSregs,
  decodeTranslation,
  encodeCpuid2,
  encodeGuestDebug,
  encodeMsrs,
  encodeRegs,
  encodeSregs,
  encodeTranslation,
  KVM_REGS_SIZE,
  KVM_SREGS_SIZE,
  type MsrEntry,
  type Regs,
  type Sregs,
} from "./structs.js";
import {
  close,
  EAGAIN,
  EINTR,
  ioctl,
  ioctlRaw,
  MAP_SHARED,
  mmap,
  munmap,
  PROT_READ,
  PROT_WRITE,
  SysError,
  view,
} from "./sys.js";

/** What a worker needs to rebuild a Vcpu over the same fd and kvm_run mapping. */
export interface VcpuHandle {
  fd: number;
  id: number;
  runAddr: bigint;
  runSize: number;
}

export class Vcpu {
  readonly run: KvmRun;
  private closed = false;

  private constructor(
    readonly fd: number,
    readonly id: number,
    readonly runAddr: bigint,
    readonly runSize: number,
    private readonly ownsMapping: boolean,
  ) {
    this.run = new KvmRun(view(runAddr, runSize));
  }

  static map(fd: number, id: number, runSize: number): Vcpu {
    const addr = mmap(runSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
    return new Vcpu(fd, id, addr, runSize, true);
  }

  /** A view of a vCPU created elsewhere in this process; closing it releases nothing. */
  static fromHandle(h: VcpuHandle): Vcpu {
    return new Vcpu(h.fd, h.id, h.runAddr, h.runSize, false);
  }

  get handle(): VcpuHandle {
    return { fd: this.fd, id: this.id, runAddr: this.runAddr, runSize: this.runSize };
  }

  /**
   * Enters the guest until the next exit. Returns false when KVM_RUN came back without an exit: interrupted
   * by a signal (EINTR, how another thread kicks this vCPU out), or EAGAIN, which an application processor
   * gets when INIT or SIPI wakes it from its wait. Any other failure throws.
   */
  runOnce(): boolean {
    const rc = nativeKvm ? nativeKvm.run(this.fd) : ioctlRaw(this.fd, KVM_RUN);
    if (rc >= 0) return true;
    if (rc === -EINTR || rc === -EAGAIN) return false;
    throw new SysError("ioctl(KVM_RUN)", -rc);
  }

  getRegs(): Regs {
    const buf = new Uint8Array(KVM_REGS_SIZE);
    ioctl(this.fd, KVM_GET_REGS, buf, "KVM_GET_REGS");
    return decodeRegs(buf);
  }

  setRegs(regs: Regs): void {
    ioctl(this.fd, KVM_SET_REGS, encodeRegs(regs), "KVM_SET_REGS");
  }

  getSregs(): Sregs {
    const buf = new Uint8Array(KVM_SREGS_SIZE);
    ioctl(this.fd, KVM_GET_SREGS, buf, "KVM_GET_SREGS");
    return decodeSregs(buf);
  }

  setSregs(sregs: Sregs): void {
    ioctl(this.fd, KVM_SET_SREGS, encodeSregs(sregs), "KVM_SET_SREGS");
  }

  /** KVM_SET_GUEST_DEBUG with KVM_GUESTDBG_* control flags. */
  setGuestDebug(control: number, debugreg: readonly bigint[] = []): void {
    ioctl(this.fd, KVM_SET_GUEST_DEBUG, encodeGuestDebug(control, debugreg), "KVM_SET_GUEST_DEBUG");
  }

  /** Translates a linear address through the guest's current paging mode (KVM_TRANSLATE). */
  translate(linear: bigint): { physical: bigint; valid: boolean } {
    const buf = encodeTranslation(linear);
    ioctl(this.fd, KVM_TRANSLATE, buf, "KVM_TRANSLATE");
    return decodeTranslation(buf);
  }

  setCpuid(entries: readonly CpuidEntry[]): void {
    ioctl(this.fd, KVM_SET_CPUID2, encodeCpuid2(entries), "KVM_SET_CPUID2");
  }

  getMsrs(indices: readonly number[]): MsrEntry[] {
    const buf = encodeMsrs(indices.map((index) => ({ index, data: 0n })));
    const n = ioctl(this.fd, KVM_GET_MSRS, buf, "KVM_GET_MSRS");
    return decodeMsrs(buf, n);
  }

  /** Sets MSRs; throws naming the first one KVM refused. */
  setMsrs(entries: readonly MsrEntry[]): void {
    const n = ioctl(this.fd, KVM_SET_MSRS, encodeMsrs(entries), "KVM_SET_MSRS");
    if (n < entries.length) {
      const bad = entries[n]?.index ?? 0;
      throw new Error(`KVM_SET_MSRS: KVM refused MSR 0x${bad.toString(16)}`);
    }
  }

  getMpState(): number {
    const buf = new Uint32Array(1);
    ioctl(this.fd, KVM_GET_MP_STATE, buf, "KVM_GET_MP_STATE");
    return buf[0] as number;
  }

  setMpState(state: number): void {
    ioctl(this.fd, KVM_SET_MP_STATE, Uint32Array.of(state), "KVM_SET_MP_STATE");
  }

  /** The local APIC's register page (struct kvm_lapic_state), with the in-kernel irqchip. */
  getLapic(): Uint8Array {
    const buf = new Uint8Array(1024);
    ioctl(this.fd, KVM_GET_LAPIC, buf, "KVM_GET_LAPIC");
    return buf;
  }

  setLapic(state: Uint8Array): void {
    ioctl(this.fd, KVM_SET_LAPIC, state, "KVM_SET_LAPIC");
  }

  close(): void {
    if (this.closed || !this.ownsMapping) return;
    this.closed = true;
    munmap(this.runAddr, this.runSize);
    close(this.fd);
  }
}
