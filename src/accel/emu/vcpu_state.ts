// A vCPU's architectural state in a SharedArrayBuffer, so the main thread can read and set it while the
// vCPU's worker is not running it, and conversions between the emulator's Cpu and the seam's neutral types.
import {
  type CpuidEntry,
  MpState,
  type MpStateValue,
  type MsrEntry,
  type Regs,
  SEGMENT_NAMES,
  type Segment,
  type Sregs,
} from "../../arch/x86/cpu_state.js";
import { ATTR_UNUSABLE, type Cpu, CS, DS, ES, FS, GS, LDTR, SS, TR } from "./cpu.js";

/** Neutral register names in the emulator's (SDM) numbering. */
const GPR_NAMES = [
  "rax",
  "rcx",
  "rdx",
  "rbx",
  "rsp",
  "rbp",
  "rsi",
  "rdi",
  "r8",
  "r9",
  "r10",
  "r11",
  "r12",
  "r13",
  "r14",
  "r15",
] as const;
/** Neutral segment names to the emulator's segment numbers. */
const SEGMENT_INDEX: Record<(typeof SEGMENT_NAMES)[number], number> = {
  es: ES,
  cs: CS,
  ss: SS,
  ds: DS,
  fs: FS,
  gs: GS,
  ldt: LDTR,
  tr: TR,
};

/** Scalar fields of Cpu saved as numbers, in slot order. */
const SCALARS = [
  "ip",
  "eflags",
  "cr0",
  "cr2",
  "cr3",
  "cr4",
  "cr8",
  "efer",
  "apicBase",
  "gdtBase",
  "gdtLimit",
  "idtBase",
  "idtLimit",
  "kernelGsBase",
  "lstar",
  "cstar",
  "sfmask",
  "sysenterCs",
  "sysenterEsp",
  "sysenterEip",
  "mpState",
  "mxcsr",
  "fpuCw",
  "fpuSw",
  "fpuTop",
  "fpuTags",
  "fpuIp",
  "fpuCs",
  "fpuDp",
  "fpuDs",
  "fpuOp",
] as const satisfies readonly (keyof Cpu)[];
const BOOLS = ["halted", "singleStep", "interruptShadow"] as const satisfies readonly (keyof Cpu)[];

const GPR_WORDS = 32; // 16 registers x (lo, hi), Int32
const SCALAR_AT = GPR_WORDS / 2; // in Float64 slots
const FLAGS_AT = SCALAR_AT + SCALARS.length; // the six status flags, materialised
const BOOL_AT = FLAGS_AT + 1;
const SEG_AT = BOOL_AT + BOOLS.length; // 8 x (selector, base, limit, attr)
const DR_AT = SEG_AT + 32;
const BIG_AT = DR_AT + 8; // star, tscOffset as BigInt64 slots
const MSR_COUNT_AT = BIG_AT + 2;
const MSR_AT = MSR_COUNT_AT + 1; // (index, value) pairs in BigInt64 slots
const MAX_MSRS = 64;
const CPUID_COUNT_AT = MSR_AT + MAX_MSRS * 2;
const CPUID_AT = CPUID_COUNT_AT + 1; // 7 numbers per entry
const MAX_CPUID = 96;
const XMM_AT = CPUID_AT + MAX_CPUID * 7; // XMM0-15: 64 Int32 words in 32 slots
const FPU_AT = XMM_AT + 32; // x87: fpr (8 slots), fpMant (8), fpExp (4), fpRaw (1)
const NOTES_AT = FPU_AT + 21; // UTF-8 text, length-prefixed (Int32 slot), then bytes
const NOTES_BYTES = 4096;
const SLOTS = NOTES_AT + 1 + NOTES_BYTES / 8;

export function createStateBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(SLOTS * 8);
}

/** Typed views of a state buffer. */
export class StateBuffer {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly big: BigInt64Array;
  constructor(readonly sab: SharedArrayBuffer) {
    this.i32 = new Int32Array(sab);
    this.f64 = new Float64Array(sab);
    this.big = new BigInt64Array(sab);
  }

  /** Copies everything from a live Cpu. */
  save(cpu: Cpu): void {
    this.i32.set(cpu.lo, 0);
    this.i32.set(cpu.hi, 16);
    SCALARS.forEach((name, k) => {
      this.f64[SCALAR_AT + k] = cpu[name];
    });
    this.f64[FLAGS_AT] = cpu.flags.get();
    BOOLS.forEach((name, k) => {
      this.f64[BOOL_AT + k] = cpu[name] ? 1 : 0;
    });
    for (let s = 0; s < 8; s++) {
      this.f64[SEG_AT + s * 4] = cpu.segSel[s]!;
      this.f64[SEG_AT + s * 4 + 1] = cpu.segBase[s]!;
      this.f64[SEG_AT + s * 4 + 2] = cpu.segLimit[s]!;
      this.f64[SEG_AT + s * 4 + 3] = cpu.segAttr[s]!;
    }
    this.f64.set(cpu.dr, DR_AT);
    this.i32.set(cpu.xmm, XMM_AT * 2);
    this.f64.set(cpu.fpr, FPU_AT);
    this.i32.set(cpu.fpMant, (FPU_AT + 8) * 2);
    this.i32.set(cpu.fpExp, (FPU_AT + 16) * 2);
    this.f64[FPU_AT + 20] = cpu.fpRaw.reduce((m, r, p) => m | (r << p), 0);
    this.big[BIG_AT] = cpu.star;
    this.big[BIG_AT + 1] = cpu.tscOffset;
    const msrs = [...cpu.msrs].slice(0, MAX_MSRS);
    this.f64[MSR_COUNT_AT] = msrs.length;
    msrs.forEach(([index, value], k) => {
      this.big[MSR_AT + k * 2] = BigInt(index);
      this.big[MSR_AT + k * 2 + 1] = BigInt.asIntN(64, value);
    });
  }

  /** Copies everything into a live Cpu. */
  load(cpu: Cpu): void {
    cpu.lo.set(this.i32.subarray(0, 16));
    cpu.hi.set(this.i32.subarray(16, 32));
    SCALARS.forEach((name, k) => {
      (cpu as unknown as Record<string, number>)[name] = this.f64[SCALAR_AT + k]!;
    });
    cpu.flags.setEager(this.f64[FLAGS_AT]!);
    BOOLS.forEach((name, k) => {
      (cpu as unknown as Record<string, boolean>)[name] = this.f64[BOOL_AT + k] === 1;
    });
    for (let s = 0; s < 8; s++) {
      cpu.segSel[s] = this.f64[SEG_AT + s * 4]!;
      cpu.segBase[s] = this.f64[SEG_AT + s * 4 + 1]!;
      cpu.segLimit[s] = this.f64[SEG_AT + s * 4 + 2]!;
      cpu.segAttr[s] = this.f64[SEG_AT + s * 4 + 3]!;
    }
    cpu.dr.set(this.f64.subarray(DR_AT, DR_AT + 8));
    cpu.xmm.set(this.i32.subarray(XMM_AT * 2, XMM_AT * 2 + 64));
    cpu.fpr.set(this.f64.subarray(FPU_AT, FPU_AT + 8));
    cpu.fpMant.set(this.i32.subarray((FPU_AT + 8) * 2, (FPU_AT + 8) * 2 + 16));
    cpu.fpExp.set(this.i32.subarray((FPU_AT + 16) * 2, (FPU_AT + 16) * 2 + 8));
    for (let p = 0; p < 8; p++) cpu.fpRaw[p] = (this.f64[FPU_AT + 20]! >> p) & 1;
    cpu.star = BigInt.asUintN(64, this.big[BIG_AT]!);
    cpu.tscOffset = this.big[BIG_AT + 1]!;
    cpu.msrs.clear();
    const n = this.f64[MSR_COUNT_AT]!;
    for (let k = 0; k < n; k++) {
      cpu.msrs.set(Number(this.big[MSR_AT + k * 2]!), BigInt.asUintN(64, this.big[MSR_AT + k * 2 + 1]!));
    }
    cpu.updateMode();
  }

  /** Notes for the fault report, written by the worker that runs the vCPU. */
  setNotes(notes: readonly string[]): void {
    const bytes = new TextEncoder().encode(notes.join("\n")).subarray(0, NOTES_BYTES);
    new Uint8Array(this.sab, (NOTES_AT + 1) * 8, NOTES_BYTES).set(bytes);
    this.f64[NOTES_AT] = bytes.length;
  }

  notes(): string[] {
    const n = this.f64[NOTES_AT]!;
    if (!n) return [];
    const copy = new Uint8Array(n);
    copy.set(new Uint8Array(this.sab, (NOTES_AT + 1) * 8, n));
    return new TextDecoder().decode(copy).split("\n");
  }

  cpuid(): CpuidEntry[] {
    const n = this.f64[CPUID_COUNT_AT]!;
    const out: CpuidEntry[] = [];
    for (let k = 0; k < n; k++) {
      const at = CPUID_AT + k * 7;
      const f = this.f64;
      out.push({
        function: f[at]!,
        index: f[at + 1]!,
        flags: f[at + 2]!,
        eax: f[at + 3]!,
        ebx: f[at + 4]!,
        ecx: f[at + 5]!,
        edx: f[at + 6]!,
      });
    }
    return out;
  }

  setCpuid(entries: readonly CpuidEntry[]): void {
    if (entries.length > MAX_CPUID) throw new RangeError(`at most ${MAX_CPUID} CPUID entries`);
    this.f64[CPUID_COUNT_AT] = entries.length;
    entries.forEach((e, k) => {
      const at = CPUID_AT + k * 7;
      const v = [e.function, e.index, e.flags, e.eax, e.ebx, e.ecx, e.edx];
      v.forEach((x, j) => {
        this.f64[at + j] = x >>> 0;
      });
    });
  }
}

const toBig = (n: number): bigint => BigInt.asUintN(64, BigInt(n));
const fromBig = (b: bigint): number => Number(BigInt.asIntN(64, b));
/** RIP and bases: canonical addresses as signed numbers inside, as unsigned 64-bit values outside. */
const addrFromBig = (b: bigint): number => Number(BigInt.asIntN(64, b));

export function regsOf(cpu: Cpu): Regs {
  const regs = {} as Regs;
  GPR_NAMES.forEach((name, r) => {
    regs[name] = cpu.regBig(r);
  });
  regs.rip = toBig(cpu.ip);
  regs.rflags = BigInt(cpu.getEflags());
  return regs;
}

export function setRegsOf(cpu: Cpu, regs: Regs): void {
  GPR_NAMES.forEach((name, r) => {
    cpu.setRegBig(r, BigInt.asUintN(64, regs[name]));
  });
  cpu.ip = addrFromBig(regs.rip);
  cpu.setEflags(Number(regs.rflags & 0xffffffffn));
  cpu.updateMode();
}

function segmentOf(cpu: Cpu, s: number): Segment {
  const attr = cpu.segAttr[s]!;
  return {
    base: toBig(cpu.segBase[s]!),
    limit: cpu.segLimit[s]! >>> 0,
    selector: cpu.segSel[s]!,
    type: attr & 0xf,
    s: (attr >> 4) & 1,
    dpl: (attr >> 5) & 3,
    present: (attr >> 7) & 1,
    avl: (attr >> 12) & 1,
    l: (attr >> 13) & 1,
    db: (attr >> 14) & 1,
    g: (attr >> 15) & 1,
    unusable: (attr >> 16) & 1,
  };
}

function setSegmentOf(cpu: Cpu, s: number, seg: Segment): void {
  cpu.segSel[s] = seg.selector;
  cpu.segBase[s] = addrFromBig(seg.base);
  cpu.segLimit[s] = seg.limit >>> 0;
  cpu.segAttr[s] =
    (seg.type & 0xf) |
    ((seg.s & 1) << 4) |
    ((seg.dpl & 3) << 5) |
    ((seg.present & 1) << 7) |
    ((seg.avl & 1) << 12) |
    ((seg.l & 1) << 13) |
    ((seg.db & 1) << 14) |
    ((seg.g & 1) << 15) |
    (seg.unusable || !seg.present ? ATTR_UNUSABLE : 0);
}

export function sregsOf(cpu: Cpu): Sregs {
  const sregs = {} as Sregs;
  for (const name of SEGMENT_NAMES) sregs[name] = segmentOf(cpu, SEGMENT_INDEX[name]);
  sregs.gdt = { base: toBig(cpu.gdtBase), limit: cpu.gdtLimit };
  sregs.idt = { base: toBig(cpu.idtBase), limit: cpu.idtLimit };
  sregs.cr0 = toBig(cpu.cr0 >>> 0);
  sregs.cr2 = toBig(cpu.cr2);
  sregs.cr3 = toBig(cpu.cr3);
  sregs.cr4 = toBig(cpu.cr4 >>> 0);
  sregs.cr8 = toBig(cpu.cr8);
  sregs.efer = toBig(cpu.efer);
  sregs.apicBase = toBig(cpu.apicBase);
  return sregs;
}

export function setSregsOf(cpu: Cpu, sregs: Sregs): void {
  for (const name of SEGMENT_NAMES) setSegmentOf(cpu, SEGMENT_INDEX[name], sregs[name]);
  cpu.gdtBase = addrFromBig(sregs.gdt.base);
  cpu.gdtLimit = sregs.gdt.limit;
  cpu.idtBase = addrFromBig(sregs.idt.base);
  cpu.idtLimit = sregs.idt.limit;
  cpu.cr0 = fromBig(sregs.cr0 & 0xffffffffn) | 0;
  cpu.cr2 = addrFromBig(sregs.cr2);
  cpu.cr3 = fromBig(sregs.cr3);
  cpu.cr4 = fromBig(sregs.cr4 & 0xffffffffn) | 0;
  cpu.cr8 = fromBig(sregs.cr8);
  cpu.efer = fromBig(sregs.efer);
  cpu.apicBase = fromBig(sregs.apicBase);
  cpu.cpl = cpu.segSel[CS]! & 3;
  cpu.updateMode();
  cpu.mem?.tlb.flushAll();
}

export function mpStateOf(cpu: Cpu): MpStateValue {
  if (cpu.halted) return MpState.HALTED;
  return cpu.mpState as MpStateValue;
}

export type { MsrEntry };
