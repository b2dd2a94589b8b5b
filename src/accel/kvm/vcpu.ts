// A KVM vCPU: its registers, its kvm_run page and KVM_RUN itself, behind the accelerator seam's Vcpu.
// A Vcpu can be rebuilt in another thread from its handle (fds and mappings are per process, not per thread).

import { CR0_PG, cpuMode } from "../../arch/x86/cpu_mode.js";
import type { CpuidEntry, MpStateValue, MsrEntry, Regs, Sregs } from "../../arch/x86/cpu_state.js";
import type { Bus } from "../../bus/io_bus.js";
import { UserError } from "../../errors.js";
import type { AccelVcpu, KvmVcpuHandle, RunHooks, RunnableVcpu, VcpuExit } from "../accelerator.js";
import {
  KVM_GET_LAPIC,
  KVM_GET_MP_STATE,
  KVM_GET_MSRS,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_GET_VCPU_EVENTS,
  KVM_RUN,
  KVM_SET_CPUID2,
  KVM_SET_GUEST_DEBUG,
  KVM_SET_LAPIC,
  KVM_SET_MP_STATE,
  KVM_SET_MSRS,
  KVM_SET_REGS,
  KVM_SET_SREGS,
  KVM_SET_VCPU_EVENTS,
  KVM_TRANSLATE,
  KVM_VCPU_EVENTS_SIZE,
} from "./ioctls.js";
import { signalThread } from "./kick_signal.js";
import { nativeKvm } from "./native_run.js";
import { KvmRun } from "./run.js";
import { runKvm } from "./run_loop.js";
import {
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
  KVM_GUESTDBG_ENABLE,
  KVM_GUESTDBG_SINGLESTEP,
  KVM_REGS_SIZE,
  KVM_SREGS_SIZE,
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

export class Vcpu implements AccelVcpu, RunnableVcpu {
  readonly kvmRun: KvmRun;
  private closed = false;

  private constructor(
    readonly fd: number,
    readonly id: number,
    readonly runAddr: bigint,
    readonly runSize: number,
    /** The thread inside run(), for interrupt() (shared by every view of this vCPU). */
    readonly thread: Int32Array,
    private readonly ownsMapping: boolean,
  ) {
    this.kvmRun = new KvmRun(view(runAddr, runSize));
  }

  static map(fd: number, id: number, runSize: number): Vcpu {
    const addr = mmap(runSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
    return new Vcpu(fd, id, addr, runSize, new Int32Array(new SharedArrayBuffer(4)), true);
  }

  /** A view of a vCPU created elsewhere in this process; closing it releases nothing. */
  static fromHandle(h: KvmVcpuHandle): Vcpu {
    return new Vcpu(h.fd, h.id, h.runAddr, h.runSize, h.thread, false);
  }

  get handle(): KvmVcpuHandle {
    return {
      accel: "kvm",
      fd: this.fd,
      id: this.id,
      runAddr: this.runAddr,
      runSize: this.runSize,
      thread: this.thread,
    };
  }

  /** Runs the guest, serving port and MMIO exits through `bus`, until the VMM must decide something. */
  run(bus: Bus, hooks: RunHooks): VcpuExit {
    return runKvm(this, bus, hooks);
  }

  /**
   * Makes a KVM_RUN in progress (or about to start) return: immediate_exit covers the window before the
   * ioctl enters the kernel, the signal the time inside it.
   */
  interrupt(): void {
    this.kvmRun.immediateExit = true;
    signalThread(Atomics.load(this.thread, 0));
  }

  /**
   * Enters the guest until the next exit. Returns false when KVM_RUN came back without an exit: interrupted
   * by a signal (EINTR, how another thread kicks this vCPU out), or EAGAIN, which an application processor
   * gets when INIT or SIPI wakes it from its wait. Any other failure throws.
   */
  runOnce(): boolean {
    const native = nativeKvm();
    const rc = native ? native.run(this.fd) : ioctlRaw(this.fd, KVM_RUN);
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

  /**
   * Has KVM deliver exception `vector` (without an error code) at the next entry, through KVM_SET_VCPU_EVENTS
   * (struct kvm_vcpu_events: exception.injected at 0, exception.nr at 1; flags at 20 left 0, so the other
   * optional fields are not touched).
   */
  injectException(vector: number): void {
    const events = new Uint8Array(KVM_VCPU_EVENTS_SIZE);
    ioctl(this.fd, KVM_GET_VCPU_EVENTS, events, "KVM_GET_VCPU_EVENTS");
    events[0] = 1;
    events[1] = vector;
    events[2] = 0;
    events[3] = 0;
    events.fill(0, 20, 24);
    ioctl(this.fd, KVM_SET_VCPU_EVENTS, events, "KVM_SET_VCPU_EVENTS");
  }

  private getSregsBuffer(): Uint8Array {
    const buf = new Uint8Array(KVM_SREGS_SIZE);
    ioctl(this.fd, KVM_GET_SREGS, buf, "KVM_GET_SREGS");
    return buf;
  }

  getSregs(): Sregs {
    return decodeSregs(this.getSregsBuffer());
  }

  /**
   * Sets the special registers, keeping the interrupts KVM has pending injection (not part of the neutral
   * state). Throws a UserError when KVM silently drops CR0.PG, as some hosts' KVM (this project's former
   * nested one) does outside long mode.
   */
  setSregs(sregs: Sregs): void {
    ioctl(this.fd, KVM_SET_SREGS, encodeSregs(sregs, this.getSregsBuffer()), "KVM_SET_SREGS");
    if ((sregs.cr0 & CR0_PG) !== 0n && (this.getSregs().cr0 & CR0_PG) === 0n) {
      throw new UserError(`this host's KVM refused to enable paging in ${cpuMode(sregs)} mode (CR0.PG was dropped)`);
    }
  }

  /** KVM_SET_GUEST_DEBUG with KVM_GUESTDBG_* control flags. */
  setGuestDebug(control: number, debugreg: readonly bigint[] = []): void {
    ioctl(this.fd, KVM_SET_GUEST_DEBUG, encodeGuestDebug(control, debugreg), "KVM_SET_GUEST_DEBUG");
  }

  setSingleStep(on: boolean): void {
    this.setGuestDebug(on ? KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP : 0);
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

  getMpState(): MpStateValue {
    const buf = new Uint32Array(1);
    ioctl(this.fd, KVM_GET_MP_STATE, buf, "KVM_GET_MP_STATE");
    return buf[0] as MpStateValue;
  }

  setMpState(state: MpStateValue): void {
    ioctl(this.fd, KVM_SET_MP_STATE, Uint32Array.of(state), "KVM_SET_MP_STATE");
  }

  /** KVM's exit reasons already name what went wrong in the stop summary; nothing to add. */
  notes(): string[] {
    return [];
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
