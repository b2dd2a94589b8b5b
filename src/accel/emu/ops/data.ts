// Data movement: MOV in its forms, LEA, XCHG, MOVZX/MOVSX/MOVSXD, CMOVcc, SETcc, CBW..CQO, LAHF/SAHF, XLAT,
// the flag bit instructions (CLC, STC, CMC, CLD, STD) and the NOPs.
import { type Cpu, CS, SS } from "../cpu.js";
import { ud } from "../fault.js";
import { ARITH, CF, DF } from "../flags.js";
import type { Insn } from "../insn.js";
import { MAP_0F } from "../insn.js";
import { def, defGroup } from "../opcodes.js";
import {
  effectiveAddressHalves,
  immediate,
  readMem,
  readReg,
  readRm,
  writeMem,
  writeReg,
  writeRm,
} from "../operands.js";
import { loadDataSegment } from "../segmentation.js";
import { condition } from "./arith.js";

// MOV r/m, r (88, 89) and MOV r, r/m (8A, 8B).
def(0x88, (cpu, i) => writeRm(cpu, i, 1, readReg(cpu, i, i.reg, 1)));
def(0x89, (cpu, i) => {
  const v = readReg(cpu, i, i.reg, i.opsize);
  writeRm(cpu, i, i.opsize, v, cpu.vHi);
});
def(0x8a, (cpu, i) => writeReg(cpu, i, i.reg, 1, readRm(cpu, i, 1)));
def(0x8b, (cpu, i) => {
  const v = readRm(cpu, i, i.opsize);
  writeReg(cpu, i, i.reg, i.opsize, v, cpu.vHi);
});
// MOV r8, imm8 (B0-B7) and MOV r, imm (B8-BF).
for (let r = 0; r < 8; r++) {
  def(0xb0 + r, (cpu, i) => writeReg(cpu, i, r | (i.rm & 8), 1, i.imm));
  def(0xb8 + r, (cpu, i) => writeReg(cpu, i, r | (i.rm & 8), i.opsize, i.imm >>> 0, i.immHi));
}
// MOV r/m, imm (C6 /0, C7 /0).
defGroup(0xc6, 0, (cpu, i) => writeRm(cpu, i, 1, i.imm & 0xff));
defGroup(0xc7, 0, (cpu, i) => {
  const v = immediate(cpu, i, i.opsize);
  writeRm(cpu, i, i.opsize, v, cpu.vHi);
});
// MOV AL/rAX, moffs and back (A0-A3): the offset is the displacement.
for (const [op, store] of [
  [0xa0, false],
  [0xa1, false],
  [0xa2, true],
  [0xa3, true],
] as const) {
  def(op, (cpu, i) => {
    const size = op & 1 ? i.opsize : 1;
    const lin = cpu.mem.linear(i.seg, i.disp, size);
    if (store) writeMem(cpu, lin, size, readReg(cpu, i, 0, size), cpu.vHi);
    else writeReg(cpu, i, 0, size, readMem(cpu, lin, size), cpu.vHi);
  });
}
// MOV r/m, Sreg (8C) and MOV Sreg, r/m (8E).
def(0x8c, (cpu, i) => {
  const s = i.reg & 7;
  if (s > 5) ud();
  const v = cpu.segSel[s]!;
  // A register destination takes the selector zero-extended to the operand size; memory, 16 bits.
  if (i.mod === 3) writeReg(cpu, i, i.rm, i.opsize === 2 ? 2 : 4, v);
  else writeRm(cpu, i, 2, v);
});
def(
  0x8e,
  (cpu, i) => {
    const s = i.reg & 7;
    if (s === CS || s > 5) ud();
    loadDataSegment(cpu, s, readRm(cpu, i, 2));
    // MOV SS blocks interrupts and debug traps for one instruction.
    if (s === SS) cpu.interruptShadow = true;
  },
  true,
);

// LEA.
def(0x8d, (cpu, i) => {
  if (i.mod === 3) ud();
  // Exact halves: LEA is arithmetic too, on values beyond 2^53.
  const a = effectiveAddressHalves(cpu, i);
  if (i.opsize === 8) writeReg(cpu, i, i.reg, 8, a | 0, cpu.vHi);
  else writeReg(cpu, i, i.reg, i.opsize, a);
});

// XCHG r/m, r (86, 87): with memory, always locked.
for (const op of [0x86, 0x87]) {
  def(op, (cpu, i) => {
    const size = op & 1 ? i.opsize : 1;
    const a = readReg(cpu, i, i.reg, size);
    const aHi = cpu.vHi;
    const b = readRm(cpu, i, size);
    const bHi = cpu.vHi;
    writeRm(cpu, i, size, a, aHi);
    writeReg(cpu, i, i.reg, size, b, bHi);
  });
}
// XCHG rAX, r (91-97); 90 is NOP (or XCHG rAX, r8 with REX.B; PAUSE with F3).
for (let r = 0; r < 8; r++) {
  def(0x90 + r, (cpu, i) => {
    const reg = r | (i.rm & 8);
    if (reg === 0) return;
    const a = readReg(cpu, i, 0, i.opsize);
    const aHi = cpu.vHi;
    const b = readReg(cpu, i, reg, i.opsize);
    writeReg(cpu, i, 0, i.opsize, b, cpu.vHi);
    writeReg(cpu, i, reg, i.opsize, a, aHi);
  });
}

// MOVZX, MOVSX (0F B6, B7, BE, BF).
for (const [op, size, signed] of [
  [0xb6, 1, false],
  [0xb7, 2, false],
  [0xbe, 1, true],
  [0xbf, 2, true],
] as const) {
  def(MAP_0F + op, (cpu, i) => {
    let v = readRm(cpu, i, size);
    if (signed) v = size === 1 ? (v << 24) >> 24 : (v << 16) >> 16;
    writeReg(cpu, i, i.reg, i.opsize, v & (i.opsize === 2 ? 0xffff : 0xffffffff), v < 0 ? -1 : 0);
  });
}
// MOVSXD (63) in 64-bit mode; ARPL elsewhere (protected mode only).
def(0x63, (cpu, i) => {
  if (cpu.codeSize === 8) {
    const v = readRm(cpu, i, 4) | 0;
    writeReg(cpu, i, i.reg, i.opsize, v >>> 0, v < 0 ? -1 : 0);
    return;
  }
  if (!cpu.protectedMode) ud();
  const dest = readRm(cpu, i, 2);
  const src = readReg(cpu, i, i.reg, 2);
  const f = cpu.flags.get();
  if ((dest & 3) < (src & 3)) {
    writeRm(cpu, i, 2, (dest & ~3) | (src & 3));
    cpu.flags.setEager(f | 0x40);
  } else cpu.flags.setEager(f & ~0x40);
});

// CMOVcc (0F 40-4F): a 32-bit destination is written (zero-extended) even when the condition is false.
for (let cc = 0; cc < 16; cc++) {
  def(MAP_0F + 0x40 + cc, (cpu, i) => {
    const v = readRm(cpu, i, i.opsize);
    const hi = cpu.vHi;
    if (condition(cpu, cc)) writeReg(cpu, i, i.reg, i.opsize, v, hi);
    else if (i.opsize === 4) cpu.hi[i.reg] = 0;
  });
  def(MAP_0F + 0x90 + cc, (cpu, i) => writeRm(cpu, i, 1, condition(cpu, cc) ? 1 : 0));
}

// CBW/CWDE/CDQE (98) and CWD/CDQ/CQO (99).
def(0x98, (cpu, i) => {
  if (i.opsize === 2) writeReg(cpu, i, 0, 2, ((cpu.lo[0]! << 24) >> 24) & 0xffff);
  else if (i.opsize === 4) writeReg(cpu, i, 0, 4, ((cpu.lo[0]! << 16) >> 16) >>> 0);
  else writeReg(cpu, i, 0, 8, cpu.lo[0]!, cpu.lo[0]! < 0 ? -1 : 0);
});
def(0x99, (cpu, i) => {
  if (i.opsize === 2) writeReg(cpu, i, 2, 2, cpu.lo[0]! & 0x8000 ? 0xffff : 0);
  else if (i.opsize === 4) writeReg(cpu, i, 2, 4, cpu.lo[0]! < 0 ? 0xffffffff : 0);
  else {
    const s = cpu.hi[0]! < 0 ? -1 : 0;
    writeReg(cpu, i, 2, 8, s, s);
  }
});

// LAHF (9F), SAHF (9E): SF, ZF, AF, PF, CF through AH.
def(0x9f, (cpu, i) => writeReg(cpu, { ...i, rex: false } as Insn, 4, 1, (cpu.getEflags() & 0xd5) | 2));
def(0x9e, (cpu) => {
  const ah = (cpu.lo[0]! >> 8) & 0xd5;
  cpu.flags.setEager((cpu.flags.get() & ~0xd5 & ARITH) | ah);
});

// XLAT (D7): AL = [seg:rBX + AL].
def(0xd7, (cpu, i) => {
  const off =
    i.adsize === 8
      ? cpu.regNumber(3) + (cpu.lo[0]! & 0xff)
      : i.adsize === 4
        ? ((cpu.lo[3]! >>> 0) + (cpu.lo[0]! & 0xff)) >>> 0
        : ((cpu.lo[3]! & 0xffff) + (cpu.lo[0]! & 0xff)) & 0xffff;
  writeReg(cpu, i, 0, 1, cpu.mem.read8(cpu.mem.linear(i.seg, off, 1)));
});

// CLC, STC, CMC, CLD, STD.
const setCf = (cpu: Cpu, on: boolean) => cpu.flags.setEager((cpu.flags.get() & ~CF) | (on ? CF : 0));
def(0xf8, (cpu) => setCf(cpu, false));
def(0xf9, (cpu) => setCf(cpu, true));
def(0xf5, (cpu) => setCf(cpu, cpu.flags.cf() === 0));
def(0xfc, (cpu) => {
  cpu.eflags &= ~DF;
});
def(0xfd, (cpu) => {
  cpu.eflags |= DF;
});

// NOP r/m (0F 1F) and the hint NOPs / prefetches (0F 18-1E) that take a ModRM operand but do nothing.
for (let op = 0x18; op <= 0x1f; op++) def(MAP_0F + op, () => {});
