// Bit instructions: BT/BTS/BTR/BTC (0F A3, AB, B3, BB; 0F BA /4-/7), BSF/BSR (0F BC, BD), BSWAP (0F C8-CF),
// and the atomic exchanges CMPXCHG (0F B0, B1), CMPXCHG8B/CMPXCHG16B (0F C7 /1) and XADD (0F C0, C1)
// (Intel SDM vol. 2). One vCPU runs per thread and an instruction is never interrupted half-way, so LOCK
// needs nothing more here (other vCPUs' atomicity is the memory model's business).
//
// Undefined flags, and what we do:
//   - BT*: OF, SF, AF, PF undefined: left unchanged, as Intel does (only CF is written; ZF is unaffected).
//   - BSF/BSR: CF, OF, SF, AF, PF undefined: as an Intel Xeon does (measured natively), CF, OF, SF and AF are
//     cleared and PF is the parity of the index written; with a zero source ZF and PF are set and the others
//     cleared, and the destination is left unchanged (all 64 bits).
//   - BSWAP of a 16-bit register is undefined: the low 16 bits become 0 (what Intel and AMD processors do).
import type { Cpu } from "../cpu.js";
import { RAX, RBX, RCX, RDX } from "../cpu.js";
import { gp, ud } from "../fault.js";
import { CF, PARITY, PF, ZF } from "../flags.js";
import type { Insn } from "../insn.js";
import { MAP_0F } from "../insn.js";
import { def, defGroup } from "../opcodes.js";
import { effectiveAddress, operandLinear, readMem, readReg, writeMem, writeReg } from "../operands.js";
import { ADD, alu, alu64, CMP } from "./arith.js";
import { lzcnt, tzcnt } from "./ext_int.js";

// ---- BT, BTS, BTR, BTC ----

const BT = 0;
const BTS = 1;
const BTR = 2;
const BTC = 3;

/** Applies `kind` to bit `bit` (0..63) of (lo, hi); returns the new low half, the new high half in `outHi`. */
let outHi = 0;
function modify(kind: number, lo: number, hi: number, bit: number): number {
  let mLo = 0;
  let mHi = 0;
  if (bit < 32) mLo = 1 << bit;
  else mHi = 1 << (bit - 32);
  switch (kind) {
    case BTS:
      outHi = hi | mHi;
      return lo | mLo;
    case BTR:
      outHi = hi & ~mHi;
      return lo & ~mLo;
    default:
      outHi = hi ^ mHi;
      return lo ^ mLo;
  }
}

function setCf(cpu: Cpu, bit: number): void {
  const f = cpu.flags;
  const cf = f.cf();
  if ((cf !== 0) === (bit !== 0)) return;
  f.setEager((f.get() & ~CF) | (bit ? CF : 0));
}

/**
 * BTx with bit offset `low` (its low bits select the bit in the operand). With a memory operand and a register
 * offset, `offset` (the register as a signed number) also addresses the bit string beyond the operand.
 */
function bitTest(cpu: Cpu, i: Insn, kind: number, low: number, offset: number, fromReg: boolean): void {
  const size = i.opsize;
  const bits = size * 8;
  const bit = low & (bits - 1);
  if (i.mod === 3) {
    const lo = readReg(cpu, i, i.rm, size);
    const hi = cpu.vHi;
    const v = bit < 32 ? (lo >>> bit) & 1 : (hi >>> (bit - 32)) & 1;
    if (kind !== BT) {
      const r = modify(kind, lo, hi, bit);
      writeReg(cpu, i, i.rm, size, size === 2 ? r & 0xffff : r >>> 0, outHi);
    }
    setCf(cpu, v);
    return;
  }
  let ea = effectiveAddress(cpu, i);
  if (fromReg && size === 8) {
    // A 64-bit offset may pass 2^53 (a double would round it): EA + 8 * (offset >> 6), summed as 32-bit halves
    // modulo 2^64 (the address size then truncates it).
    const rLo = cpu.lo[i.reg]!;
    const rHi = cpu.hi[i.reg]!;
    const qLo = (rLo >>> 6) | (rHi << 26);
    const qHi = rHi >> 6;
    const dLo = (qLo << 3) >>> 0;
    const dHi = (qHi << 3) | (qLo >>> 29);
    const eaHi = Math.floor(ea / 4294967296);
    const sumLo = ea - eaHi * 4294967296 + dLo;
    const carry = sumLo >= 4294967296 ? 1 : 0;
    const low32 = sumLo - carry * 4294967296;
    const ad = i.adsize;
    ea = ad === 2 ? low32 & 0xffff : ad === 4 ? low32 : ((eaHi + dHi + carry) | 0) * 4294967296 + low32;
  } else if (fromReg) {
    // The operand-size-aligned unit holding the bit: EA + size * floor(offset / bits).
    ea += size * Math.floor((offset - bit) / bits);
    const ad = i.adsize;
    ea = ad === 2 ? ea & 0xffff : ad === 4 ? ea >>> 0 : ea;
  }
  const lin = cpu.mem.linear(i.seg, ea, size);
  const lo = readMem(cpu, lin, size);
  const hi = cpu.vHi;
  const v = bit < 32 ? (lo >>> bit) & 1 : (hi >>> (bit - 32)) & 1;
  if (kind !== BT) {
    const r = modify(kind, lo, hi, bit);
    writeMem(cpu, lin, size, r, outHi);
  }
  setCf(cpu, v);
}

/** The bit offset in a register, signed at the operand size (exact below 2^53: enough to address memory). */
function regOffset(cpu: Cpu, i: Insn): number {
  switch (i.opsize) {
    case 2:
      return (cpu.lo[i.reg]! << 16) >> 16;
    case 4:
      return cpu.lo[i.reg]! | 0;
    default:
      return cpu.regNumber(i.reg);
  }
}

def(MAP_0F + 0xa3, (cpu, i) => bitTest(cpu, i, BT, cpu.lo[i.reg]!, regOffset(cpu, i), true));
def(MAP_0F + 0xab, (cpu, i) => bitTest(cpu, i, BTS, cpu.lo[i.reg]!, regOffset(cpu, i), true));
def(MAP_0F + 0xb3, (cpu, i) => bitTest(cpu, i, BTR, cpu.lo[i.reg]!, regOffset(cpu, i), true));
def(MAP_0F + 0xbb, (cpu, i) => bitTest(cpu, i, BTC, cpu.lo[i.reg]!, regOffset(cpu, i), true));
for (let kind = BT; kind <= BTC; kind++) {
  defGroup(MAP_0F + 0xba, 4 + kind, (cpu, i) => bitTest(cpu, i, kind, i.imm & 0xff, 0, false));
}

// ---- BSF, BSR ----

function bitScan(cpu: Cpu, i: Insn, reverse: boolean): void {
  const size = i.opsize;
  const mem = i.mod !== 3;
  const lo = mem ? readMem(cpu, operandLinear(cpu, i, size), size) : readReg(cpu, i, i.rm, size);
  const hi = size === 8 ? cpu.vHi : 0;
  const f = cpu.flags;
  if ((lo | hi) === 0) {
    f.setEager(ZF | PF);
    return;
  }
  let index: number;
  if (reverse) index = hi !== 0 ? 63 - Math.clz32(hi) : 31 - Math.clz32(lo);
  else if (lo !== 0) index = 31 - Math.clz32(lo & -lo);
  else index = 63 - Math.clz32(hi & -hi);
  writeReg(cpu, i, i.reg, size, index);
  f.setEager(PARITY[index]!);
}

// With F3 these opcodes are TZCNT and LZCNT (ext_int.ts).
def(MAP_0F + 0xbc, (cpu, i) => (i.rep === 0xf3 ? tzcnt(cpu, i) : bitScan(cpu, i, false)));
def(MAP_0F + 0xbd, (cpu, i) => (i.rep === 0xf3 ? lzcnt(cpu, i) : bitScan(cpu, i, true)));

// ---- BSWAP ----

function swap32(v: number): number {
  return (v >>> 24) | ((v >> 8) & 0xff00) | ((v & 0xff00) << 8) | (v << 24) | 0;
}

for (let r = 0; r < 8; r++) {
  def(MAP_0F + 0xc8 + r, (cpu, i) => {
    const reg = r | (i.rm & 8);
    if (i.opsize === 8) {
      const lo = cpu.lo[reg]!;
      cpu.lo[reg] = swap32(cpu.hi[reg]!);
      cpu.hi[reg] = swap32(lo);
    } else if (i.opsize === 4) {
      cpu.lo[reg] = swap32(cpu.lo[reg]!);
      cpu.hi[reg] = 0;
    } else {
      cpu.lo[reg] = cpu.lo[reg]! & ~0xffff;
    }
  });
}

// ---- CMPXCHG ----

function cmpxchg(cpu: Cpu, i: Insn, size: number): void {
  const mem = i.mod !== 3;
  const lin = mem ? operandLinear(cpu, i, size) : 0;
  if (mem) cpu.mem.probeWrite(lin, size);
  const d = mem ? readMem(cpu, lin, size) : readReg(cpu, i, i.rm, size);
  const dHi = cpu.vHi;
  const a = readReg(cpu, i, RAX, size);
  const aHi = cpu.vHi;
  const s = readReg(cpu, i, i.reg, size);
  const sHi = cpu.vHi;
  // Flags as CMP accumulator, destination.
  if (size === 8) alu64(cpu, CMP, a, aHi, d, dHi);
  else alu(cpu, CMP, size, a, d);
  const equal = size === 8 ? a === d && aHi === dHi : a === d;
  if (equal) {
    if (mem) writeMem(cpu, lin, size, s, sHi);
    else writeReg(cpu, i, i.rm, size, s, sHi);
  } else {
    // The processor writes the destination back unchanged (a locked read-modify-write).
    if (mem) writeMem(cpu, lin, size, d, dHi);
    writeReg(cpu, i, RAX, size, d, dHi);
  }
}

def(MAP_0F + 0xb0, (cpu, i) => cmpxchg(cpu, i, 1));
def(MAP_0F + 0xb1, (cpu, i) => cmpxchg(cpu, i, i.opsize));

// CMPXCHG8B m64 / CMPXCHG16B m128 (REX.W): only ZF changes.
defGroup(MAP_0F + 0xc7, 1, (cpu, i) => {
  if (i.mod === 3) ud();
  const f = cpu.flags;
  const ea = effectiveAddress(cpu, i);
  if (i.opsize === 8) {
    const lin = cpu.mem.linear(i.seg, ea, 16);
    if (lin % 16 !== 0) gp(0);
    cpu.mem.probeWrite(lin, 16);
    const m0 = cpu.mem.read64(lin);
    const m1 = cpu.vHi;
    const m2 = cpu.mem.read64(lin + 8);
    const m3 = cpu.vHi;
    if (m0 === cpu.lo[RAX] && m1 === cpu.hi[RAX] && m2 === cpu.lo[RDX] && m3 === cpu.hi[RDX]) {
      cpu.mem.write64(lin, cpu.lo[RBX]!, cpu.hi[RBX]!);
      cpu.mem.write64(lin + 8, cpu.lo[RCX]!, cpu.hi[RCX]!);
      f.setEager(f.get() | ZF);
    } else {
      cpu.mem.write64(lin, m0, m1);
      cpu.mem.write64(lin + 8, m2, m3);
      cpu.lo[RAX] = m0;
      cpu.hi[RAX] = m1;
      cpu.lo[RDX] = m2;
      cpu.hi[RDX] = m3;
      f.setEager(f.get() & ~ZF);
    }
    return;
  }
  const lin = cpu.mem.linear(i.seg, ea, 8);
  cpu.mem.probeWrite(lin, 8);
  const lo = cpu.mem.read64(lin);
  const hi = cpu.vHi;
  if (lo === cpu.lo[RAX] && hi === cpu.lo[RDX]) {
    cpu.mem.write64(lin, cpu.lo[RBX]!, cpu.lo[RCX]!);
    f.setEager(f.get() | ZF);
  } else {
    cpu.mem.write64(lin, lo, hi);
    // 32-bit register writes: the upper halves are cleared in 64-bit mode.
    cpu.lo[RAX] = lo;
    cpu.hi[RAX] = 0;
    cpu.lo[RDX] = hi;
    cpu.hi[RDX] = 0;
    f.setEager(f.get() & ~ZF);
  }
});

// ---- XADD ----

function xadd(cpu: Cpu, i: Insn, size: number): void {
  const mem = i.mod !== 3;
  const lin = mem ? operandLinear(cpu, i, size) : 0;
  if (mem) cpu.mem.probeWrite(lin, size);
  const d = mem ? readMem(cpu, lin, size) : readReg(cpu, i, i.rm, size);
  const dHi = cpu.vHi;
  const s = readReg(cpu, i, i.reg, size);
  const sHi = cpu.vHi;
  const r = size === 8 ? alu64(cpu, ADD, d, dHi, s, sHi) : alu(cpu, ADD, size, d, s);
  const rHi = cpu.vHi;
  // SRC <- DEST, then DEST <- sum (so with one register for both, the sum wins).
  writeReg(cpu, i, i.reg, size, d, dHi);
  if (mem) writeMem(cpu, lin, size, r, rHi);
  else writeReg(cpu, i, i.rm, size, r, rHi);
}

def(MAP_0F + 0xc0, (cpu, i) => xadd(cpu, i, 1));
def(MAP_0F + 0xc1, (cpu, i) => xadd(cpu, i, i.opsize));
