// Operand access for instruction handlers: registers by size (with AH..BH for byte registers 4-7 without
// REX), the ModRM memory operand's effective address, and r/m reads and writes. 64-bit values travel as a low
// half (the return value) and a high half (cpu.vHi), so nothing allocates.
import type { Cpu } from "./cpu.js";
import type { Insn } from "./insn.js";

/** The effective address (offset in its segment) of a memory operand, truncated to the address size. */
export function effectiveAddress(cpu: Cpu, i: Insn): number {
  let a = i.disp;
  const adsize = i.adsize;
  if (adsize === 8) {
    // Summed as 32-bit halves so that the sum wraps modulo 2^64 exactly (registers beyond 2^53, as doubles,
    // would round); the result is the signed number Cpu.regNumber would give.
    let hi = 0;
    if (i.base >= 0) {
      a += cpu.lo[i.base]! >>> 0;
      hi += cpu.hi[i.base]!;
    }
    if (i.index >= 0) {
      const m = 1 << i.scale;
      a += (cpu.lo[i.index]! >>> 0) * m;
      hi += Math.imul(cpu.hi[i.index]!, m);
    }
    if (i.ripRelative) a += cpu.nextIp;
    const carry = Math.floor(a / 4294967296);
    return ((hi + carry) | 0) * 4294967296 + (a - carry * 4294967296);
  }
  if (i.base >= 0) a += cpu.lo[i.base]!;
  if (i.index >= 0) a += cpu.lo[i.index]! << i.scale;
  if (i.ripRelative) a += cpu.nextIp; // 67 in 64-bit mode: EIP-relative, truncated to 32 bits
  return adsize === 4 ? a >>> 0 : a & 0xffff;
}

/**
 * The effective address as two exact 32-bit halves (the low one returned, unsigned; the high one in cpu.vHi):
 * what LEA stores, where 64-bit values beyond 2^53 must not round.
 */
export function effectiveAddressHalves(cpu: Cpu, i: Insn): number {
  if (i.adsize !== 8) {
    cpu.vHi = 0;
    return effectiveAddress(cpu, i);
  }
  let a = i.disp;
  let hi = 0;
  if (i.base >= 0) {
    a += cpu.lo[i.base]! >>> 0;
    hi += cpu.hi[i.base]!;
  }
  if (i.index >= 0) {
    const m = 1 << i.scale;
    a += (cpu.lo[i.index]! >>> 0) * m;
    hi += Math.imul(cpu.hi[i.index]!, m);
  }
  if (i.ripRelative) a += cpu.nextIp;
  const carry = Math.floor(a / 4294967296);
  cpu.vHi = (hi + carry) | 0;
  return (a - carry * 4294967296) >>> 0;
}

/** The linear address of the memory operand, `size` bytes, after segment checks. */
export function operandLinear(cpu: Cpu, i: Insn, size: number): number {
  return cpu.mem.linear(i.seg, effectiveAddress(cpu, i), size);
}

export function readReg8(cpu: Cpu, i: Insn, r: number): number {
  if (r < 4 || i.rex) return cpu.lo[r]! & 0xff;
  return (cpu.lo[r - 4]! >> 8) & 0xff;
}

export function writeReg8(cpu: Cpu, i: Insn, r: number, v: number): void {
  if (r < 4 || i.rex) cpu.lo[r] = (cpu.lo[r]! & ~0xff) | (v & 0xff);
  else cpu.lo[r - 4] = (cpu.lo[r - 4]! & ~0xff00) | ((v & 0xff) << 8);
}

/** A register of `size` bytes (1 with the byte-register rules); size 8 leaves the high half in cpu.vHi. */
export function readReg(cpu: Cpu, i: Insn, r: number, size: number): number {
  switch (size) {
    case 1:
      return readReg8(cpu, i, r);
    case 2:
      return cpu.lo[r]! & 0xffff;
    case 4:
      return cpu.lo[r]! >>> 0;
    default:
      cpu.vHi = cpu.hi[r]!;
      return cpu.lo[r]! >>> 0;
  }
}

/** Writes a register: 8- and 16-bit writes merge, 32-bit writes zero the high half (SDM vol. 1, 3.4.1.1). */
export function writeReg(cpu: Cpu, i: Insn, r: number, size: number, v: number, hi = 0): void {
  switch (size) {
    case 1:
      writeReg8(cpu, i, r, v);
      return;
    case 2:
      cpu.lo[r] = (cpu.lo[r]! & ~0xffff) | (v & 0xffff);
      return;
    case 4:
      cpu.lo[r] = v;
      cpu.hi[r] = 0;
      return;
    default:
      cpu.lo[r] = v;
      cpu.hi[r] = hi;
  }
}

export function readMem(cpu: Cpu, lin: number, size: number): number {
  const m = cpu.mem;
  switch (size) {
    case 1:
      return m.read8(lin);
    case 2:
      return m.read16(lin);
    case 4:
      return m.read32(lin) >>> 0;
    default:
      return m.read64(lin) >>> 0;
  }
}

export function writeMem(cpu: Cpu, lin: number, size: number, v: number, hi = 0): void {
  const m = cpu.mem;
  switch (size) {
    case 1:
      m.write8(lin, v);
      return;
    case 2:
      m.write16(lin, v);
      return;
    case 4:
      m.write32(lin, v);
      return;
    default:
      m.write64(lin, v, hi);
  }
}

/** The r/m operand (unsigned for sizes 1-4; size 8: low half unsigned, high half in cpu.vHi). */
export function readRm(cpu: Cpu, i: Insn, size: number): number {
  if (i.mod === 3) return readReg(cpu, i, i.rm, size);
  return readMem(cpu, operandLinear(cpu, i, size), size);
}

export function writeRm(cpu: Cpu, i: Insn, size: number, v: number, hi = 0): void {
  if (i.mod === 3) writeReg(cpu, i, i.rm, size, v, hi);
  else writeMem(cpu, operandLinear(cpu, i, size), size, v, hi);
}

/** The operand size of an instruction's byte form (even opcode in most ALU rows) or its full form. */
export function sizeOf(i: Insn): number {
  return i.op & 1 ? i.opsize : 1;
}

/** Sign-extends an immediate (as the decoder stored it, a signed int32) to `size`: low half, high in vHi. */
export function immediate(cpu: Cpu, i: Insn, size: number): number {
  if (size === 8) {
    cpu.vHi = i.imm < 0 ? -1 : 0;
    return i.imm >>> 0;
  }
  return size === 4 ? i.imm >>> 0 : size === 2 ? i.imm & 0xffff : i.imm & 0xff;
}
