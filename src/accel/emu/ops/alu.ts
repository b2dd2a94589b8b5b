// ADD, OR, ADC, SBB, AND, SUB, XOR, CMP in all their forms (00-3D, 80-83), TEST, INC, DEC, NOT, NEG.
import type { Cpu } from "../cpu.js";
import { ud } from "../fault.js";
import { FlagOp, MASK } from "../flags.js";
import type { Insn } from "../insn.js";
import { def, defGroup } from "../opcodes.js";
import { immediate, operandLinear, readMem, readReg, readRm, writeMem, writeReg } from "../operands.js";
import { AND, alu, alu64, CMP } from "./arith.js";

/** op r/m, value (value's high half in `bHi` for 8-byte operands). */
function aluRm(cpu: Cpu, i: Insn, op: number, size: number, b: number, bHi: number): void {
  if (i.mod === 3) {
    const a = readReg(cpu, i, i.rm, size);
    const aHi = cpu.vHi;
    const r = size === 8 ? alu64(cpu, op, a, aHi, b, bHi) : alu(cpu, op, size, a, b);
    if (op !== CMP) writeReg(cpu, i, i.rm, size, r, cpu.vHi);
    return;
  }
  const lin = operandLinear(cpu, i, size);
  const a = readMem(cpu, lin, size);
  const aHi = cpu.vHi;
  const r = size === 8 ? alu64(cpu, op, a, aHi, b, bHi) : alu(cpu, op, size, a, b);
  if (op !== CMP) writeMem(cpu, lin, size, r, cpu.vHi);
}

for (let op = 0; op < 8; op++) {
  const base = op * 8;
  // op r/m8, r8 and op r/m, r
  for (const wide of [false, true]) {
    def(base + (wide ? 1 : 0), (cpu, i) => {
      const size = wide ? i.opsize : 1;
      const b = readReg(cpu, i, i.reg, size);
      aluRm(cpu, i, op, size, b, cpu.vHi);
    });
    // op r8, r/m8 and op r, r/m
    def(base + (wide ? 3 : 2), (cpu, i) => {
      const size = wide ? i.opsize : 1;
      const b = readRm(cpu, i, size);
      const bHi = cpu.vHi;
      const a = readReg(cpu, i, i.reg, size);
      const aHi = cpu.vHi;
      const r = size === 8 ? alu64(cpu, op, a, aHi, b, bHi) : alu(cpu, op, size, a, b);
      if (op !== CMP) writeReg(cpu, i, i.reg, size, r, cpu.vHi);
    });
    // op AL, imm8 and op rAX, imm
    def(base + (wide ? 5 : 4), (cpu, i) => {
      const size = wide ? i.opsize : 1;
      const b = immediate(cpu, i, size);
      const bHi = cpu.vHi;
      const a = readReg(cpu, i, 0, size);
      const r = size === 8 ? alu64(cpu, op, a, cpu.hi[0]!, b, bHi) : alu(cpu, op, size, a, b);
      if (op !== CMP) writeReg(cpu, i, 0, size, r, cpu.vHi);
    });
  }
  // Group 1: 80 (r/m8, imm8), 81 (r/m, imm), 82 (r/m8, imm8; invalid in 64-bit mode), 83 (r/m, imm8 sign-extended)
  for (const opcode of [0x80, 0x81, 0x82, 0x83]) {
    defGroup(opcode, op, (cpu, i) => {
      const size = opcode === 0x81 || opcode === 0x83 ? i.opsize : 1;
      if (opcode === 0x82 && cpu.codeSize === 8) return ud();
      const b = immediate(cpu, i, size);
      aluRm(cpu, i, op, size, b, cpu.vHi);
    });
  }
}

/** TEST r/m, r (84, 85), TEST AL/rAX, imm (A8, A9). */
for (const wide of [false, true]) {
  def(0x84 + (wide ? 1 : 0), (cpu, i) => {
    const size = wide ? i.opsize : 1;
    const b = readReg(cpu, i, i.reg, size);
    const bHi = cpu.vHi;
    const a = readRm(cpu, i, size);
    if (size === 8) alu64(cpu, AND, a, cpu.vHi, b, bHi);
    else alu(cpu, AND, size, a, b);
  });
  def(0xa8 + (wide ? 1 : 0), (cpu, i) => {
    const size = wide ? i.opsize : 1;
    const b = immediate(cpu, i, size);
    const bHi = cpu.vHi;
    const a = readReg(cpu, i, 0, size);
    if (size === 8) alu64(cpu, AND, a, cpu.hi[0]!, b, bHi);
    else alu(cpu, AND, size, a, b);
  });
}

/** INC/DEC r/m: CF is kept. */
function incDec(cpu: Cpu, i: Insn, size: number, dec: boolean, reg: number): void {
  const mem = reg < 0 && i.mod !== 3;
  const lin = mem ? operandLinear(cpu, i, size) : 0;
  const r0 = reg >= 0 ? reg : i.rm;
  const a = mem ? readMem(cpu, lin, size) : readReg(cpu, i, r0, size);
  const aHi = cpu.vHi;
  let r: number;
  let rHi = 0;
  if (size === 8) {
    const v = (a >>> 0) + (dec ? -1 : 1);
    r = v >>> 0;
    rHi = (aHi + (v > 0xffffffff ? 1 : v < 0 ? -1 : 0)) | 0;
    cpu.flags.set64(dec ? FlagOp.DEC : FlagOp.INC, a, aHi, 1, 0, r, rHi);
  } else {
    r = ((a + (dec ? -1 : 1)) & MASK[size]!) >>> 0;
    cpu.flags.set(dec ? FlagOp.DEC : FlagOp.INC, size, a, 1, r);
  }
  if (mem) writeMem(cpu, lin, size, r, rHi);
  else writeReg(cpu, i, r0, size, r, rHi);
}

for (let r = 0; r < 8; r++) {
  // 40-4F are REX prefixes in 64-bit mode; the decoder never hands them here there.
  def(0x40 + r, (cpu, i) => incDec(cpu, i, i.opsize, false, r));
  def(0x48 + r, (cpu, i) => incDec(cpu, i, i.opsize, true, r));
}
defGroup(0xfe, 0, (cpu, i) => incDec(cpu, i, 1, false, -1));
defGroup(0xfe, 1, (cpu, i) => incDec(cpu, i, 1, true, -1));
defGroup(0xff, 0, (cpu, i) => incDec(cpu, i, i.opsize, false, -1));
defGroup(0xff, 1, (cpu, i) => incDec(cpu, i, i.opsize, true, -1));

/** Group 3: TEST r/m, imm; NOT; NEG (MUL/IMUL/DIV/IDIV live in muldiv). */
for (const opcode of [0xf6, 0xf7]) {
  const testImm = (cpu: Cpu, i: Insn) => {
    const size = opcode === 0xf7 ? i.opsize : 1;
    const b = immediate(cpu, i, size);
    const bHi = cpu.vHi;
    const a = readRm(cpu, i, size);
    if (size === 8) alu64(cpu, AND, a, cpu.vHi, b, bHi);
    else alu(cpu, AND, size, a, b);
  };
  defGroup(opcode, 0, testImm);
  defGroup(opcode, 1, testImm);
  defGroup(opcode, 2, (cpu, i) => {
    const size = opcode === 0xf7 ? i.opsize : 1;
    const lin = i.mod === 3 ? 0 : operandLinear(cpu, i, size);
    const a = i.mod === 3 ? readReg(cpu, i, i.rm, size) : readMem(cpu, lin, size);
    const hi = ~cpu.vHi;
    const r = size === 8 ? ~a >>> 0 : (~a & MASK[size]!) >>> 0;
    if (i.mod === 3) writeReg(cpu, i, i.rm, size, r, hi);
    else writeMem(cpu, lin, size, r, hi);
  });
  defGroup(opcode, 3, (cpu, i) => {
    const size = opcode === 0xf7 ? i.opsize : 1;
    const lin = i.mod === 3 ? 0 : operandLinear(cpu, i, size);
    const a = i.mod === 3 ? readReg(cpu, i, i.rm, size) : readMem(cpu, lin, size);
    const aHi = cpu.vHi;
    const r = size === 8 ? alu64(cpu, 5, 0, 0, a, aHi) : alu(cpu, 5, size, 0, a);
    const rHi = cpu.vHi;
    if (i.mod === 3) writeReg(cpu, i, i.rm, size, r, rHi);
    else writeMem(cpu, lin, size, r, rHi);
  });
}
