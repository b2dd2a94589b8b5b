// Layouts of the KVM structures this project exchanges with the kernel (include/uapi/linux/kvm.h and
// arch/x86/include/uapi/asm/kvm.h), encoded and decoded with explicit offsets.

import {
  CONTROL_NAMES,
  type CpuidEntry,
  type MsrEntry,
  REG_NAMES,
  type Regs,
  SEGMENT_NAMES,
  type Segment,
  type Sregs,
} from "../../arch/x86/cpu_state.js";

/** struct kvm_regs: the general registers, in the kernel's order (REG_NAMES's). */
export const KVM_REGS_SIZE = REG_NAMES.length * 8;

export function decodeRegs(buf: Uint8Array): Regs {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const regs = {} as Regs;
  REG_NAMES.forEach((name, i) => {
    regs[name] = dv.getBigUint64(i * 8, true);
  });
  return regs;
}

export function encodeRegs(regs: Regs): Uint8Array {
  const buf = new Uint8Array(KVM_REGS_SIZE);
  const dv = new DataView(buf.buffer);
  REG_NAMES.forEach((name, i) => {
    dv.setBigUint64(i * 8, BigInt.asUintN(64, regs[name]), true);
  });
  return buf;
}

/** struct kvm_segment. */
const SEGMENT_SIZE = 24;
/** struct kvm_dtable (GDTR, IDTR). */
const DTABLE_SIZE = 16;
/** Interrupt bitmap: (KVM_NR_INTERRUPTS + 63) / 64 words. */
const INTERRUPT_BITMAP_WORDS = 4;

// struct kvm_sregs: segments, descriptor tables, control registers, EFER, the APIC base, then the bitmap of
// interrupts pending injection, which the neutral Sregs leaves out (KVM's business: see Vcpu.setSregs).
const DTABLES_OFFSET = SEGMENT_NAMES.length * SEGMENT_SIZE;
const CONTROL_OFFSET = DTABLES_OFFSET + 2 * DTABLE_SIZE;
const BITMAP_OFFSET = CONTROL_OFFSET + CONTROL_NAMES.length * 8;
export const KVM_SREGS_SIZE = BITMAP_OFFSET + INTERRUPT_BITMAP_WORDS * 8;

function decodeSegment(dv: DataView, at: number): Segment {
  return {
    base: dv.getBigUint64(at, true),
    limit: dv.getUint32(at + 8, true),
    selector: dv.getUint16(at + 12, true),
    type: dv.getUint8(at + 14),
    present: dv.getUint8(at + 15),
    dpl: dv.getUint8(at + 16),
    db: dv.getUint8(at + 17),
    s: dv.getUint8(at + 18),
    l: dv.getUint8(at + 19),
    g: dv.getUint8(at + 20),
    avl: dv.getUint8(at + 21),
    unusable: dv.getUint8(at + 22),
  };
}

function encodeSegment(dv: DataView, at: number, s: Segment): void {
  dv.setBigUint64(at, s.base, true);
  dv.setUint32(at + 8, s.limit >>> 0, true);
  dv.setUint16(at + 12, s.selector, true);
  const bytes = [s.type, s.present, s.dpl, s.db, s.s, s.l, s.g, s.avl, s.unusable];
  bytes.forEach((b, i) => {
    dv.setUint8(at + 14 + i, b);
  });
}

export function decodeSregs(buf: Uint8Array): Sregs {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const sregs = {} as Sregs;
  SEGMENT_NAMES.forEach((name, i) => {
    sregs[name] = decodeSegment(dv, i * SEGMENT_SIZE);
  });
  sregs.gdt = { base: dv.getBigUint64(DTABLES_OFFSET, true), limit: dv.getUint16(DTABLES_OFFSET + 8, true) };
  const idtAt = DTABLES_OFFSET + DTABLE_SIZE;
  sregs.idt = { base: dv.getBigUint64(idtAt, true), limit: dv.getUint16(idtAt + 8, true) };
  CONTROL_NAMES.forEach((name, i) => {
    sregs[name] = dv.getBigUint64(CONTROL_OFFSET + i * 8, true);
  });
  return sregs;
}

/** Encodes `sregs` with the pending-interrupt bitmap of `bitmapFrom` (a KVM_GET_SREGS result), or none. */
export function encodeSregs(sregs: Sregs, bitmapFrom?: Uint8Array): Uint8Array {
  const buf = new Uint8Array(KVM_SREGS_SIZE);
  const dv = new DataView(buf.buffer);
  SEGMENT_NAMES.forEach((name, i) => {
    encodeSegment(dv, i * SEGMENT_SIZE, sregs[name]);
  });
  dv.setBigUint64(DTABLES_OFFSET, sregs.gdt.base, true);
  dv.setUint16(DTABLES_OFFSET + 8, sregs.gdt.limit, true);
  dv.setBigUint64(DTABLES_OFFSET + DTABLE_SIZE, sregs.idt.base, true);
  dv.setUint16(DTABLES_OFFSET + DTABLE_SIZE + 8, sregs.idt.limit, true);
  CONTROL_NAMES.forEach((name, i) => {
    dv.setBigUint64(CONTROL_OFFSET + i * 8, sregs[name], true);
  });
  if (bitmapFrom) buf.set(bitmapFrom.subarray(BITMAP_OFFSET, KVM_SREGS_SIZE), BITMAP_OFFSET);
  return buf;
}

/** struct kvm_userspace_memory_region. */
export interface MemoryRegion {
  slot: number;
  flags: number;
  guestPhysAddr: bigint;
  memorySize: bigint;
  userspaceAddr: bigint;
}

export function encodeMemoryRegion(r: MemoryRegion): Uint8Array {
  const buf = new Uint8Array(32);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, r.slot, true);
  dv.setUint32(4, r.flags, true);
  dv.setBigUint64(8, r.guestPhysAddr, true);
  dv.setBigUint64(16, r.memorySize, true);
  dv.setBigUint64(24, r.userspaceAddr, true);
  return buf;
}

/** struct kvm_guest_debug: control flags and the eight debug registers. */
export const KVM_GUESTDBG_ENABLE = 0x1;
export const KVM_GUESTDBG_SINGLESTEP = 0x2;
const DEBUG_REGISTERS = 8;
export const KVM_GUEST_DEBUG_SIZE = 8 + DEBUG_REGISTERS * 8;

export function encodeGuestDebug(control: number, debugreg: readonly bigint[] = []): Uint8Array {
  const buf = new Uint8Array(KVM_GUEST_DEBUG_SIZE);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, control, true);
  debugreg.slice(0, DEBUG_REGISTERS).forEach((value, i) => {
    dv.setBigUint64(8 + i * 8, value, true);
  });
  return buf;
}

/** struct kvm_translation: a linear address in, its physical address and validity out. */
export function encodeTranslation(linear: bigint): Uint8Array {
  const buf = new Uint8Array(24);
  new DataView(buf.buffer).setBigUint64(0, linear, true);
  return buf;
}

export function decodeTranslation(buf: Uint8Array): { physical: bigint; valid: boolean } {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return { physical: dv.getBigUint64(8, true), valid: dv.getUint8(16) !== 0 };
}

/** struct kvm_cpuid_entry2. */
const CPUID_ENTRY_SIZE = 40;
const CPUID_HEADER = 8;

/** An empty struct kvm_cpuid2 with room for `capacity` entries, for KVM_GET_SUPPORTED_CPUID to fill. */
export function cpuid2Buffer(capacity: number): Uint8Array {
  const buf = new Uint8Array(CPUID_HEADER + capacity * CPUID_ENTRY_SIZE);
  new DataView(buf.buffer).setUint32(0, capacity, true);
  return buf;
}

export function decodeCpuid2(buf: Uint8Array): CpuidEntry[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Math.min(dv.getUint32(0, true), (buf.length - CPUID_HEADER) / CPUID_ENTRY_SIZE);
  return Array.from({ length: n }, (_, i) => {
    const at = CPUID_HEADER + i * CPUID_ENTRY_SIZE;
    const [fn, index, flags, eax, ebx, ecx, edx] = [0, 4, 8, 12, 16, 20, 24].map((o) => dv.getUint32(at + o, true));
    return { function: fn, index, flags, eax, ebx, ecx, edx } as CpuidEntry;
  });
}

export function encodeCpuid2(entries: readonly CpuidEntry[]): Uint8Array {
  const buf = cpuid2Buffer(entries.length);
  const dv = new DataView(buf.buffer);
  entries.forEach((e, i) => {
    const at = CPUID_HEADER + i * CPUID_ENTRY_SIZE;
    [e.function, e.index, e.flags, e.eax, e.ebx, e.ecx, e.edx].forEach((v, k) => {
      dv.setUint32(at + k * 4, v >>> 0, true);
    });
  });
  return buf;
}

/** struct kvm_msrs with its entries (struct kvm_msr_entry: index, reserved, data). */
const MSR_ENTRY_SIZE = 16;

export function encodeMsrs(entries: readonly MsrEntry[]): Uint8Array {
  const buf = new Uint8Array(8 + entries.length * MSR_ENTRY_SIZE);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, entries.length, true);
  entries.forEach((e, i) => {
    dv.setUint32(8 + i * MSR_ENTRY_SIZE, e.index, true);
    dv.setBigUint64(8 + i * MSR_ENTRY_SIZE + 8, BigInt.asUintN(64, e.data), true);
  });
  return buf;
}

export function decodeMsrs(buf: Uint8Array, count: number): MsrEntry[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return Array.from({ length: count }, (_, i) => ({
    index: dv.getUint32(8 + i * MSR_ENTRY_SIZE, true),
    data: dv.getBigUint64(8 + i * MSR_ENTRY_SIZE + 8, true),
  }));
}

/** struct kvm_pit_config. KVM_PIT_SPEAKER_DUMMY gives port 0x61 a stand-in speaker. */
export const KVM_PIT_SPEAKER_DUMMY = 1;
export function encodePitConfig(flags: number): Uint8Array {
  const buf = new Uint8Array(64);
  new DataView(buf.buffer).setUint32(0, flags, true);
  return buf;
}
