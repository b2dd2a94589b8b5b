// The eight classic ALU operations (ADD, OR, ADC, SBB, AND, SUB, XOR, CMP) on 1-, 2-, 4- and 8-byte operands,
// with flags as the SDM's instruction pages define them. Shared by every instruction that does arithmetic.
import type { Cpu } from "../cpu.js";
import { AF, CF, FlagOp, MASK, OF, PARITY, SF, SIGN, ZF } from "../flags.js";

export const ADD = 0;
export const OR = 1;
export const ADC = 2;
export const SBB = 3;
export const AND = 4;
export const SUB = 5;
export const XOR = 6;
export const CMP = 7;

/** a op b for sizes 1-4 (unsigned operands); sets flags; returns the result (unsigned, truncated). */
export function alu(cpu: Cpu, op: number, size: number, a: number, b: number): number {
  const mask = MASK[size]!;
  const f = cpu.flags;
  let r: number;
  switch (op) {
    case ADD:
      r = (a + b) & mask;
      f.set(FlagOp.ADD, size, a, b, r >>> 0);
      return r >>> 0;
    case OR:
      r = (a | b) & mask;
      f.set(FlagOp.LOGIC, size, a, b, r >>> 0);
      return r >>> 0;
    case AND:
      r = a & b & mask;
      f.set(FlagOp.LOGIC, size, a, b, r >>> 0);
      return r >>> 0;
    case XOR:
      r = (a ^ b) & mask;
      f.set(FlagOp.LOGIC, size, a, b, r >>> 0);
      return r >>> 0;
    case SUB:
    case CMP:
      r = (a - b) & mask;
      f.set(FlagOp.SUB, size, a, b, r >>> 0);
      return r >>> 0;
    case ADC: {
      const c = f.cf();
      r = (a + b + c) & mask;
      const rr = r >>> 0;
      const carry = c ? rr <= a >>> 0 : rr < a >>> 0;
      setAddSubFlags(cpu, size, a, b, rr, carry, false);
      return rr;
    }
    default: {
      // SBB
      const c = f.cf();
      r = (a - b - c) & mask;
      const rr = r >>> 0;
      const borrow = c ? a >>> 0 <= b >>> 0 : a >>> 0 < b >>> 0;
      setAddSubFlags(cpu, size, a, b, rr, borrow, true);
      return rr;
    }
  }
}

function setAddSubFlags(cpu: Cpu, size: number, a: number, b: number, r: number, carry: boolean, sub: boolean): void {
  const sign = SIGN[size]!;
  const o = sub ? (a ^ b) & (a ^ r) : (a ^ r) & (b ^ r);
  cpu.flags.setEager(
    (carry ? CF : 0) |
      PARITY[r & 0xff]! |
      ((a ^ b ^ r) & AF) |
      (r === 0 ? ZF : 0) |
      (r & sign ? SF : 0) |
      (o & sign ? OF : 0),
  );
}

/** 64-bit a op b on (lo, hi) halves; returns the low half, the high half in cpu.vHi. */
export function alu64(cpu: Cpu, op: number, aLo: number, aHi: number, bLo: number, bHi: number): number {
  const f = cpu.flags;
  let lo: number;
  let hi: number;
  switch (op) {
    case OR:
    case AND:
    case XOR:
      lo = op === OR ? aLo | bLo : op === AND ? aLo & bLo : aLo ^ bLo;
      hi = op === OR ? aHi | bHi : op === AND ? aHi & bHi : aHi ^ bHi;
      f.set64(FlagOp.LOGIC, aLo, aHi, bLo, bHi, lo >>> 0, hi | 0);
      break;
    case ADD:
    case ADC: {
      const c = op === ADC ? f.cf() : 0;
      const sum = (aLo >>> 0) + (bLo >>> 0) + c;
      lo = sum >>> 0;
      hi = (aHi + bHi + (sum > 0xffffffff ? 1 : 0)) | 0;
      if (op === ADD) f.set64(FlagOp.ADD, aLo >>> 0, aHi | 0, bLo >>> 0, bHi | 0, lo, hi);
      else {
        const carry = unsignedAddCarry(aHi, bHi, sum > 0xffffffff ? 1 : 0);
        set64Flags(cpu, aLo, aHi, bLo, bHi, lo, hi, carry, false);
      }
      break;
    }
    default: {
      // SUB, CMP, SBB
      const c = op === SBB ? f.cf() : 0;
      const diff = (aLo >>> 0) - (bLo >>> 0) - c;
      lo = diff >>> 0;
      const borrowLo = diff < 0 ? 1 : 0;
      hi = (aHi - bHi - borrowLo) | 0;
      if (op !== SBB) f.set64(FlagOp.SUB, aLo >>> 0, aHi | 0, bLo >>> 0, bHi | 0, lo, hi);
      else {
        const borrow = aHi >>> 0 < (bHi >>> 0) + borrowLo;
        set64Flags(cpu, aLo, aHi, bLo, bHi, lo, hi, borrow, true);
      }
      break;
    }
  }
  cpu.vHi = hi;
  return lo >>> 0;
}

function unsignedAddCarry(aHi: number, bHi: number, carryIn: number): boolean {
  return (aHi >>> 0) + (bHi >>> 0) + carryIn > 0xffffffff;
}

function set64Flags(
  cpu: Cpu,
  aLo: number,
  aHi: number,
  bLo: number,
  bHi: number,
  lo: number,
  hi: number,
  carry: boolean,
  sub: boolean,
): void {
  const o = sub ? (aHi ^ bHi) & (aHi ^ hi) : (aHi ^ hi) & (bHi ^ hi);
  cpu.flags.setEager(
    (carry ? CF : 0) |
      PARITY[lo & 0xff]! |
      ((aLo ^ bLo ^ lo) & AF) |
      ((lo | hi) === 0 ? ZF : 0) |
      (hi < 0 ? SF : 0) |
      (o < 0 ? OF : 0),
  );
}

/** Evaluates condition code `cc` (0-15, as in Jcc/SETcc/CMOVcc). */
export function condition(cpu: Cpu, cc: number): boolean {
  const f = cpu.flags;
  let r: boolean;
  switch (cc >> 1) {
    case 0:
      r = f.of() !== 0;
      break;
    case 1:
      r = f.cf() !== 0;
      break;
    case 2:
      r = f.zf() !== 0;
      break;
    case 3:
      r = f.cf() !== 0 || f.zf() !== 0;
      break;
    case 4:
      r = f.sf() !== 0;
      break;
    case 5:
      r = f.pf() !== 0;
      break;
    case 6:
      r = (f.sf() !== 0) !== (f.of() !== 0);
      break;
    default:
      r = f.zf() !== 0 || (f.sf() !== 0) !== (f.of() !== 0);
      break;
  }
  return cc & 1 ? !r : r;
}
