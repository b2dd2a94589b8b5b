// Near control transfers: JMP, Jcc, CALL, RET, LOOP/LOOPE/LOOPNE, JCXZ/JECXZ/JRCXZ (Intel SDM vol. 2).
// Targets are truncated to the operand size; in 64-bit mode they must be canonical (#GP otherwise).
import { type Cpu, CS, RCX } from "../cpu.js";
import { gp } from "../fault.js";
import type { Insn } from "../insn.js";
import { MAP_0F } from "../insn.js";
import { def, defGroup } from "../opcodes.js";
import { readRm } from "../operands.js";
import { adjustStack, pop, push } from "../stack.js";
import { condition } from "./arith.js";

const CANONICAL = 2 ** 47;

/** Jumps to `target` (an offset in CS), truncated to the branch's operand size; checks limit or canonical form. */
export function jumpTo(cpu: Cpu, i: Insn, target: number): void {
  const size = i.stackSize;
  if (cpu.codeSize === 8 && size === 8) {
    if (target < -CANONICAL || target >= CANONICAL) gp(0);
  } else {
    target = size === 2 ? target & 0xffff : target >>> 0;
    if (cpu.codeSize !== 8 && target > cpu.segLimit[CS]!) gp(0);
  }
  cpu.nextIp = target;
}

/** The relative target: next instruction + displacement. */
const relative = (cpu: Cpu, i: Insn) => cpu.nextIp + i.imm;

/** Pushes the return address (nextIp) with the branch's operand size. */
export function pushReturn(cpu: Cpu, i: Insn): void {
  const ip = cpu.nextIp;
  push(cpu, i.stackSize, ip | 0, Math.floor(ip / 4294967296) | 0);
}

/** A 64-bit value (lo, hi) as a number, for targets. */
const asTarget = (lo: number, hi: number, size: number) => (size === 8 ? (hi | 0) * 4294967296 + (lo >>> 0) : lo >>> 0);

def(0xeb, (cpu, i) => jumpTo(cpu, i, relative(cpu, i)), true);
def(0xe9, (cpu, i) => jumpTo(cpu, i, relative(cpu, i)), true);
for (let cc = 0; cc < 16; cc++) {
  const jcc = (cpu: Cpu, i: Insn) => {
    if (condition(cpu, cc)) jumpTo(cpu, i, relative(cpu, i));
  };
  def(0x70 + cc, jcc, true);
  def(MAP_0F + 0x80 + cc, jcc, true);
}
def(
  0xe8,
  (cpu, i) => {
    const target = relative(cpu, i);
    const saved = cpu.nextIp;
    jumpTo(cpu, i, target);
    const to = cpu.nextIp;
    cpu.nextIp = saved;
    pushReturn(cpu, i);
    cpu.nextIp = to;
  },
  true,
);
// CALL r/m (FF /2), JMP r/m (FF /4).
defGroup(
  0xff,
  2,
  (cpu, i) => {
    const lo = readRm(cpu, i, i.stackSize);
    const target = asTarget(lo, cpu.vHi, i.stackSize);
    const saved = cpu.nextIp;
    jumpTo(cpu, i, target);
    const to = cpu.nextIp;
    cpu.nextIp = saved;
    pushReturn(cpu, i);
    cpu.nextIp = to;
  },
  true,
);
defGroup(
  0xff,
  4,
  (cpu, i) => {
    const lo = readRm(cpu, i, i.stackSize);
    jumpTo(cpu, i, asTarget(lo, cpu.vHi, i.stackSize));
  },
  true,
);
// RET (C3), RET imm16 (C2).
const ret = (cpu: Cpu, i: Insn, release: number) => {
  const lo = pop(cpu, i.stackSize);
  const hi = cpu.vHi;
  const saved = [cpu.lo[4]!, cpu.hi[4]!];
  try {
    jumpTo(cpu, i, asTarget(lo, hi, i.stackSize));
  } catch (e) {
    cpu.lo[4] = saved[0]!;
    cpu.hi[4] = saved[1]!;
    throw e;
  }
  if (release) adjustStack(cpu, release);
};
def(0xc3, (cpu, i) => ret(cpu, i, 0), true);
def(0xc2, (cpu, i) => ret(cpu, i, i.imm), true);

/** The count register at the address size. */
function countReg(cpu: Cpu, i: Insn): number {
  return i.adsize === 8 ? cpu.regNumber(RCX) : i.adsize === 4 ? cpu.lo[RCX]! >>> 0 : cpu.lo[RCX]! & 0xffff;
}
function decrementCount(cpu: Cpu, i: Insn): number {
  if (i.adsize === 8) {
    const lo = (cpu.lo[RCX]! - 1) | 0;
    if (lo === -1) cpu.hi[RCX] = (cpu.hi[RCX]! - 1) | 0;
    cpu.lo[RCX] = lo;
    return lo | cpu.hi[RCX]!;
  }
  if (i.adsize === 4) {
    cpu.lo[RCX] = (cpu.lo[RCX]! - 1) | 0;
    if (cpu.codeSize === 8) cpu.hi[RCX] = 0; // ECX written in 64-bit mode: zero-extended into RCX
    return cpu.lo[RCX]!;
  }
  const v = (cpu.lo[RCX]! - 1) & 0xffff;
  cpu.lo[RCX] = (cpu.lo[RCX]! & ~0xffff) | v;
  return v;
}
// LOOPNE (E0), LOOPE (E1), LOOP (E2), JrCXZ (E3).
def(
  0xe0,
  (cpu, i) => {
    if (decrementCount(cpu, i) !== 0 && !cpu.flags.zf()) jumpTo(cpu, i, relative(cpu, i));
  },
  true,
);
def(
  0xe1,
  (cpu, i) => {
    if (decrementCount(cpu, i) !== 0 && cpu.flags.zf()) jumpTo(cpu, i, relative(cpu, i));
  },
  true,
);
def(
  0xe2,
  (cpu, i) => {
    if (decrementCount(cpu, i) !== 0) jumpTo(cpu, i, relative(cpu, i));
  },
  true,
);
def(
  0xe3,
  (cpu, i) => {
    if (countReg(cpu, i) === 0) jumpTo(cpu, i, relative(cpu, i));
  },
  true,
);
