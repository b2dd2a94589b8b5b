// The emulated processor's architectural state, in the shapes the interpreter wants: general registers as
// 32-bit halves (no BigInt on the hot path), linear addresses and RIP as JavaScript numbers (sign-extended
// canonical addresses in 64-bit mode fit exactly), segments unpacked into parallel arrays.
import type { CpuidEntry } from "../../arch/x86/cpu_state.js";
import { FIXED1, Flags } from "./flags.js";
import type { Memory } from "./memory.js";
import type { EmuPlatform } from "./platform.js";
import type { PortIo } from "./port_io.js";

// Segment register numbers, in the SDM's Sreg encoding order; LDTR and TR follow.
export const ES = 0;
export const CS = 1;
export const SS = 2;
export const DS = 3;
export const FS = 4;
export const GS = 5;
export const LDTR = 6;
export const TR = 7;
export const SEGMENT_COUNT = 8;

// General register numbers (SDM order).
export const RAX = 0;
export const RCX = 1;
export const RDX = 2;
export const RBX = 3;
export const RSP = 4;
export const RBP = 5;
export const RSI = 6;
export const RDI = 7;

/**
 * Segment attributes packed as in VMX's access-rights field: type 0-3, S 4, DPL 5-6, P 7, AVL 12, L 13,
 * D/B 14, G 15, unusable 16.
 */
export const ATTR_S = 1 << 4;
export const ATTR_P = 1 << 7;
export const ATTR_L = 1 << 13;
export const ATTR_DB = 1 << 14;
export const ATTR_G = 1 << 15;
export const ATTR_UNUSABLE = 1 << 16;
export const attrDpl = (attr: number) => (attr >> 5) & 3;

// Control register bits the emulator acts on.
export const CR0_PE = 1 << 0;
export const CR0_MP = 1 << 1;
export const CR0_EM = 1 << 2;
export const CR0_TS = 1 << 3;
export const CR0_ET = 1 << 4;
export const CR0_NE = 1 << 5;
export const CR0_WP = 1 << 16;
export const CR0_AM = 1 << 18;
export const CR0_NW = 1 << 29;
export const CR0_CD = 1 << 30;
export const CR0_PG = 1 << 31;
export const CR4_VME = 1 << 0;
export const CR4_PVI = 1 << 1;
export const CR4_TSD = 1 << 2;
export const CR4_DE = 1 << 3;
export const CR4_PSE = 1 << 4;
export const CR4_PAE = 1 << 5;
export const CR4_MCE = 1 << 6;
export const CR4_PGE = 1 << 7;
export const CR4_PCE = 1 << 8;
export const CR4_OSFXSR = 1 << 9;
export const CR4_OSXMMEXCPT = 1 << 10;
export const CR4_UMIP = 1 << 11;
export const CR4_FSGSBASE = 1 << 16;
export const CR4_PCIDE = 1 << 17;
export const CR4_OSXSAVE = 1 << 18;
export const CR4_SMEP = 1 << 20;
export const CR4_SMAP = 1 << 21;
export const EFER_SCE = 1 << 0;
export const EFER_LME = 1 << 8;
export const EFER_LMA = 1 << 10;
export const EFER_NXE = 1 << 11;

export class Cpu {
  /** General registers: low and high 32 bits (RAX..R15). */
  readonly lo = new Int32Array(16);
  readonly hi = new Int32Array(16);
  /** RIP: the start of the current instruction. */
  ip = 0;
  /** Where execution continues after the current instruction (handlers for jumps set it). */
  nextIp = 0;
  readonly flags = new Flags();
  /** EFLAGS bits other than the six status flags (bit 1 included). */
  eflags = FIXED1;

  readonly segSel = new Int32Array(SEGMENT_COUNT);
  /** Segment bases: FS and GS may hold 64-bit canonical bases, as signed numbers. */
  readonly segBase = new Float64Array(SEGMENT_COUNT);
  readonly segLimit = new Float64Array(SEGMENT_COUNT);
  readonly segAttr = new Int32Array(SEGMENT_COUNT);
  gdtBase = 0;
  gdtLimit = 0;
  idtBase = 0;
  idtLimit = 0;

  cr0 = CR0_ET;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  cr8 = 0;
  efer = 0;
  apicBase = 0xfee00900;
  readonly dr = new Float64Array(8);
  /** MSRs without a field of their own, by index. */
  readonly msrs = new Map<number, bigint>();
  kernelGsBase = 0;
  star = 0n;
  lstar = 0;
  cstar = 0;
  sfmask = 0;
  sysenterCs = 0;
  sysenterEsp = 0;
  sysenterEip = 0;
  /** XMM0-XMM15: 16 registers x 4 dwords, lane 0 lowest (little-endian lanes, as in memory). */
  readonly xmm = new Int32Array(64);
  /** The same storage as binary32 and binary64 lanes (hosts are little-endian). */
  readonly xmmF32 = new Float32Array(this.xmm.buffer);
  readonly xmmF64 = new Float64Array(this.xmm.buffer);
  /** MXCSR: SSE control and status (all exceptions masked, round to nearest after reset). */
  mxcsr = 0x1f80;
  // x87 FPU and MMX (ops/x87.ts explains the representation). Registers are indexed physically (R0-R7; ST(i)
  // is R((top + i) & 7)). Each holds either a binary64 value (fpr) or an exact 80-bit value (fpMant: 64-bit
  // significand as low/high Int32 words, which is also the MMX register; fpExp: sign << 15 | exponent), and
  // fpRaw says which view is current (1: the 80-bit one).
  readonly fpr = new Float64Array(8);
  readonly fpMant = new Int32Array(16);
  readonly fpExp = new Int32Array(8);
  readonly fpRaw = new Uint8Array(8);
  /** Control word (reset value 0x0040; FNINIT sets 0x037f). */
  fpuCw = 0x40;
  /** Status word without TOP (bits 11-13 always clear here). */
  fpuSw = 0;
  fpuTop = 0;
  /** Bit p set when physical register p is not empty (the FXSAVE abridged tag word). */
  fpuTags = 0xff;
  /** Last instruction and data pointers, the last opcode's low 11 bits. */
  fpuIp = 0;
  fpuCs = 0;
  fpuDp = 0;
  fpuDs = 0;
  fpuOp = 0;
  /** TSC = host nanoseconds (scaled) + offset. */
  tscOffset = 0n;

  /** Current privilege level. */
  cpl = 0;
  /** Default operand/address size of the code segment: 2, 4 or 8 bytes. */
  codeSize = 2;
  /** Stack pointer width: 2, 4 or 8 bytes (SS.B, or 8 in 64-bit mode). */
  stackSize = 2;
  /** Set while STI or MOV SS blocks interrupts for one instruction. */
  interruptShadow = false;
  halted = false;
  mpState = 0;
  singleStep = false;

  /** High half of the last 64-bit value an operand read returned. */
  vHi = 0;
  /** The memory path (set once when the vCPU is built). */
  mem!: Memory;
  io!: PortIo;
  /** The interrupt controllers and timers, when the machine has an irqchip. */
  platform: EmuPlatform | undefined;
  /** The CPUID table the VMM set. */
  cpuid: CpuidEntry[] = [];
  /** Instructions retired (for statistics and benchmarks). */
  retired = 0;
  /** A handler asks the run loop to leave the current block after this instruction. */
  stopBlock = false;

  /** Recomputes what depends on CR0, EFER and CS: the code size, the stack size and the CPL. */
  updateMode(): void {
    const cs = this.segAttr[CS]!;
    if (!(this.cr0 & CR0_PE)) {
      this.codeSize = cs & ATTR_DB ? 4 : 2;
      this.cpl = 0;
    } else {
      if (this.efer & EFER_LMA && cs & ATTR_L) this.codeSize = 8;
      else this.codeSize = cs & ATTR_DB ? 4 : 2;
      this.cpl = this.eflags & (1 << 17) ? 3 : this.segSel[CS]! & 3;
    }
    if (this.codeSize === 8) this.stackSize = 8;
    else this.stackSize = this.segAttr[SS]! & ATTR_DB ? 4 : 2;
  }

  get longMode(): boolean {
    return (this.efer & EFER_LMA) !== 0;
  }

  get protectedMode(): boolean {
    return (this.cr0 & CR0_PE) !== 0;
  }

  /** RFLAGS as the architecture shows it. */
  getEflags(): number {
    return (this.eflags | this.flags.get() | FIXED1) >>> 0;
  }

  setEflags(value: number): void {
    this.flags.setEager(value);
    this.eflags = (value & ~0x8d5) | FIXED1;
  }

  /** A general register as a signed number (exact for |value| < 2^53: addresses, counts). */
  regNumber(r: number): number {
    return this.hi[r]! * 4294967296 + (this.lo[r]! >>> 0);
  }

  /** Writes a signed number (|value| < 2^53) to a 64-bit register. */
  setRegNumber(r: number, v: number): void {
    this.lo[r] = v | 0;
    this.hi[r] = Math.floor(v / 4294967296) | 0;
  }

  regBig(r: number): bigint {
    return (BigInt(this.hi[r]! >>> 0) << 32n) | BigInt(this.lo[r]! >>> 0);
  }

  setRegBig(r: number, v: bigint): void {
    this.lo[r] = Number(v & 0xffffffffn) | 0;
    this.hi[r] = Number((v >> 32n) & 0xffffffffn) | 0;
  }
}
