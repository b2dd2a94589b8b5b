// The decimal-arithmetic adjustments (DAA 27, DAS 2F, AAA 37, AAS 3F, AAM D4, AAD D5: #UD in 64-bit mode),
// SALC (D6, undocumented: #UD here), the cache and ordering hints CLFLUSH/CLFLUSHOPT (0F AE /7 with memory),
// LFENCE/MFENCE/SFENCE (0F AE /5, /6, /7 with a register form) and PREFETCH/PREFETCHW (0F 0D).
// (Intel SDM vol. 2.) PAUSE is F3 90, a NOP in data.ts.
//
// Undefined flags follow what an Intel Xeon does (measured natively over every AL, CF, AF and the other flags
// set or clear, no differences left):
//   - DAA/DAS: OF is cleared.
//   - AAA/AAS: SF, ZF and PF follow the final AL (after masking), OF is cleared.
//   - AAM: OF, AF and CF are cleared. AAD: CF, AF and OF are those of the 8-bit addition AL + (AH * imm8)
//     (SF, ZF and PF follow AL as documented).
import type { Cpu } from "../cpu.js";
import { RAX } from "../cpu.js";
import { DE, fault, ud } from "../fault.js";
import { AF, CF, PARITY, SF, ZF } from "../flags.js";
import type { Handler, Insn } from "../insn.js";
import { MAP_0F } from "../insn.js";
import { def, defGroup, invalid, unimplemented } from "../opcodes.js";
import { operandLinear } from "../operands.js";
import { ADD, alu } from "./arith.js";

function noLong(cpu: Cpu): void {
  if (cpu.codeSize === 8) ud();
}

/** SF, ZF, PF of an 8-bit value. */
function szp8(v: number): number {
  return PARITY[v & 0xff]! | ((v & 0xff) === 0 ? ZF : 0) | (v & 0x80 ? SF : 0);
}

function setAl(cpu: Cpu, al: number): void {
  cpu.lo[RAX] = (cpu.lo[RAX]! & ~0xff) | (al & 0xff);
}

function setAx(cpu: Cpu, ax: number): void {
  cpu.lo[RAX] = (cpu.lo[RAX]! & ~0xffff) | (ax & 0xffff);
}

// DAA: adjusts AL after an addition of packed BCD digits.
def(0x27, (cpu) => {
  noLong(cpu);
  const f = cpu.flags;
  const oldAl = cpu.lo[RAX]! & 0xff;
  const oldCf = f.cf();
  let al = oldAl;
  let cf = 0;
  let af = 0;
  if ((al & 0x0f) > 9 || f.af()) {
    al += 6;
    cf = oldCf || al > 0xff ? CF : 0;
    al &= 0xff;
    af = AF;
  }
  if (oldAl > 0x99 || oldCf) {
    al = (al + 0x60) & 0xff;
    cf = CF;
  } else cf = 0;
  setAl(cpu, al);
  f.setEager(cf | af | szp8(al));
});

// DAS: adjusts AL after a subtraction of packed BCD digits.
def(0x2f, (cpu) => {
  noLong(cpu);
  const f = cpu.flags;
  const oldAl = cpu.lo[RAX]! & 0xff;
  const oldCf = f.cf();
  let al = oldAl;
  let cf = 0;
  let af = 0;
  if ((al & 0x0f) > 9 || f.af()) {
    cf = oldCf || al < 6 ? CF : 0;
    al = (al - 6) & 0xff;
    af = AF;
  }
  if (oldAl > 0x99 || oldCf) {
    al = (al - 0x60) & 0xff;
    cf = CF;
  }
  setAl(cpu, al);
  f.setEager(cf | af | szp8(al));
});

// AAA / AAS: adjust AL (and AH) after an addition / subtraction of unpacked BCD digits.
for (const sub of [false, true]) {
  def(sub ? 0x3f : 0x37, (cpu) => {
    noLong(cpu);
    const f = cpu.flags;
    let ax = cpu.lo[RAX]! & 0xffff;
    let adjust = 0;
    if ((ax & 0x0f) > 9 || f.af()) {
      // AX + 106H, or AX - 6 and AH - 1.
      ax = sub ? (ax - 6 - 0x100) & 0xffff : (ax + 0x106) & 0xffff;
      adjust = AF | CF;
    }
    ax &= 0xff0f;
    setAx(cpu, ax);
    f.setEager(adjust | szp8(ax));
  });
}

// AAM imm8: AH = AL / imm8, AL = AL mod imm8 (#DE for 0).
def(0xd4, (cpu, i) => {
  noLong(cpu);
  const base = i.imm & 0xff;
  if (base === 0) fault(DE);
  const al = cpu.lo[RAX]! & 0xff;
  const q = Math.floor(al / base);
  const r = al - q * base;
  setAx(cpu, (q << 8) | r);
  cpu.flags.setEager(szp8(r));
});

// AAD imm8: AL = AL + AH * imm8, AH = 0; the flags are those of the 8-bit addition AL + (AH * imm8).
def(0xd5, (cpu, i) => {
  noLong(cpu);
  const ax = cpu.lo[RAX]! & 0xffff;
  const al = alu(cpu, ADD, 1, ax & 0xff, ((ax >> 8) * (i.imm & 0xff)) & 0xff);
  setAx(cpu, al);
});

// SALC: undocumented; left invalid.
def(0xd6, invalid);

// PREFETCHW and the reserved prefetch hints (0F 0D /r): no architectural effect, never fault.
def(MAP_0F + 0x0d, () => {});

// Group 15 (0F AE): the register forms of /5, /6, /7 are LFENCE, MFENCE, SFENCE (nothing to order with one
// vCPU per thread and no write buffering); /7 with memory is CLFLUSH (CLFLUSHOPT with 66), which checks the
// address as a byte read would and has no other effect here. The memory forms of /5 and /6 (XRSTOR,
// XSAVEOPT, CLWB) belong to other families: they register through group15Memory.
export const group15Memory: (Handler | undefined)[] = new Array(8).fill(undefined);

function clflush(cpu: Cpu, i: Insn): void {
  const lin = operandLinear(cpu, i, 1);
  cpu.mem.translateRead(lin);
}

for (const reg of [5, 6, 7]) {
  defGroup(MAP_0F + 0xae, reg, (cpu, i) => {
    if (i.mod === 3) return;
    if (reg === 7) return clflush(cpu, i);
    (group15Memory[reg] ?? unimplemented)(cpu, i);
  });
}
