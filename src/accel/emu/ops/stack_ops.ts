// PUSH and POP of registers, immediates, memory and segment registers; PUSHA/POPA; ENTER/LEAVE; PUSHF/POPF
// live with the flags in system.
import { type Cpu, CS, DS, ES, FS, GS, RBP, RSP, SS } from "../cpu.js";
import { ud } from "../fault.js";
import type { Insn } from "../insn.js";
import { MAP_0F } from "../insn.js";
import { def, defGroup } from "../opcodes.js";
import { readReg, readRm, writeReg, writeRm } from "../operands.js";
import { loadDataSegment } from "../segmentation.js";
import { adjustStack, peek, pop, push, setStackPointer, stackPointer } from "../stack.js";

for (let r = 0; r < 8; r++) {
  def(0x50 + r, (cpu, i) => {
    const reg = r | (i.rm & 8);
    const v = readReg(cpu, i, reg, i.stackSize);
    push(cpu, i.stackSize, v, cpu.vHi);
  });
  def(0x58 + r, (cpu, i) => {
    const reg = r | (i.rm & 8);
    const v = pop(cpu, i.stackSize);
    writeReg(cpu, i, reg, i.stackSize, v, cpu.vHi);
  });
}
// PUSH imm (68: imm16/32 sign-extended; 6A: imm8 sign-extended).
const pushImm = (cpu: Cpu, i: Insn) => push(cpu, i.stackSize, i.imm, i.imm < 0 ? -1 : 0);
def(0x68, pushImm);
def(0x6a, pushImm);
// PUSH r/m (FF /6), POP r/m (8F /0): the address is computed after RSP is incremented (SDM vol. 2, POP).
defGroup(0xff, 6, (cpu, i) => {
  const v = readRm(cpu, i, i.stackSize);
  push(cpu, i.stackSize, v, cpu.vHi);
});
defGroup(0x8f, 0, (cpu, i) => {
  const sp = [cpu.lo[RSP]!, cpu.hi[RSP]!];
  const v = pop(cpu, i.stackSize);
  const hi = cpu.vHi;
  try {
    writeRm(cpu, i, i.stackSize, v, hi);
  } catch (e) {
    cpu.lo[RSP] = sp[0]!;
    cpu.hi[RSP] = sp[1]!;
    throw e;
  }
});

// PUSH/POP segment registers: 06/07 ES, 0E CS, 16/17 SS, 1E/1F DS (not in 64-bit mode); 0F A0/A1 FS, 0F A8/A9 GS.
function pushSeg(seg: number) {
  return (cpu: Cpu, i: Insn) => {
    if (cpu.codeSize === 8 && seg < FS) ud();
    push(cpu, i.stackSize, cpu.segSel[seg]!);
  };
}
function popSeg(seg: number) {
  return (cpu: Cpu, i: Insn) => {
    if (cpu.codeSize === 8 && seg < FS) ud();
    const v = peek(cpu, i.stackSize) & 0xffff;
    loadDataSegment(cpu, seg, v);
    adjustStack(cpu, i.stackSize);
    if (seg === SS) cpu.interruptShadow = true;
  };
}
def(0x06, pushSeg(ES));
def(0x07, popSeg(ES));
def(0x0e, pushSeg(CS));
def(0x16, pushSeg(SS));
def(0x17, popSeg(SS), true);
def(0x1e, pushSeg(DS));
def(0x1f, popSeg(DS));
def(MAP_0F + 0xa0, pushSeg(FS));
def(MAP_0F + 0xa1, popSeg(FS));
def(MAP_0F + 0xa8, pushSeg(GS));
def(MAP_0F + 0xa9, popSeg(GS));

// PUSHA/POPA (60, 61): not in 64-bit mode.
def(0x60, (cpu, i) => {
  if (cpu.codeSize === 8) ud();
  const size = i.opsize;
  const sp = readReg(cpu, i, RSP, size);
  for (let r = 0; r < 8; r++) push(cpu, size, r === RSP ? sp : readReg(cpu, i, r, size));
});
def(0x61, (cpu, i) => {
  if (cpu.codeSize === 8) ud();
  const size = i.opsize;
  for (let r = 7; r >= 0; r--) {
    const v = pop(cpu, size);
    if (r !== RSP) writeReg(cpu, i, r, size, v);
  }
});

// ENTER (C8) and LEAVE (C9).
def(0xc8, (cpu, i) => {
  const size = i.stackSize;
  const level = i.imm2 & 31;
  push(cpu, size, cpu.lo[RBP]!, cpu.hi[RBP]!);
  const frame = stackPointer(cpu);
  if (level > 0) {
    let bp = size === 8 ? cpu.regNumber(RBP) : cpu.stackSize === 4 ? cpu.lo[RBP]! >>> 0 : cpu.lo[RBP]! & 0xffff;
    for (let k = 1; k < level; k++) {
      bp -= size;
      const lin = cpu.mem.linear(SS, cpu.stackSize === 8 ? bp : cpu.stackSize === 4 ? bp >>> 0 : bp & 0xffff, size);
      const v = size === 2 ? cpu.mem.read16(lin) : size === 4 ? cpu.mem.read32(lin) : cpu.mem.read64(lin);
      push(cpu, size, v, cpu.vHi);
    }
    push(cpu, size, frame | 0, Math.floor(frame / 4294967296) | 0);
  }
  // rBP = frame at the operand size.
  if (size === 8) cpu.setRegNumber(RBP, frame);
  else writeReg(cpu, i, RBP, size, frame >>> 0);
  adjustStack(cpu, -i.imm);
});
def(0xc9, (cpu, i) => {
  const size = i.stackSize;
  const bp =
    cpu.stackSize === 8 ? cpu.regNumber(RBP) : cpu.stackSize === 4 ? cpu.lo[RBP]! >>> 0 : cpu.lo[RBP]! & 0xffff;
  const saved = [cpu.lo[RSP]!, cpu.hi[RSP]!];
  setStackPointer(cpu, bp);
  try {
    const v = pop(cpu, size);
    writeReg(cpu, i, RBP, size, v, cpu.vHi);
  } catch (e) {
    cpu.lo[RSP] = saved[0]!;
    cpu.hi[RSP] = saved[1]!;
    throw e;
  }
});
void GS;
