// Descriptor and protection instructions (Intel SDM vol. 2): group 6 (0F 00: SLDT, STR, LLDT, LTR, VERR,
// VERW), LAR (0F 02), LSL (0F 03), MOV to and from debug registers (0F 21, 0F 23) and BOUND (62). LLDT and
// LTR read 16-byte system descriptors in IA-32e mode; LTR marks the TSS busy in the GDT.
import { ATTR_P, ATTR_S, ATTR_UNUSABLE, attrDpl, type Cpu, CR4_DE, CR4_UMIP, LDTR, TR } from "../cpu.js";
import { BR, fault, GP, gp, NP, ud } from "../fault.js";
import { VM, ZF } from "../flags.js";
import type { Insn } from "../insn.js";
import { MAP_0F } from "../insn.js";
import { def, defGroup } from "../opcodes.js";
import { effectiveAddress, readReg, readRm, writeReg, writeRm } from "../operands.js";
import {
  type Descriptor,
  descriptorAttr,
  descriptorBase,
  descriptorLimit,
  readDescriptor,
  setSegment,
} from "../segmentation.js";

const TWO32 = 4294967296;
const CANONICAL = 2 ** 47;

/** These instructions exist only in protected mode (not real, not virtual-8086): #UD elsewhere. */
function requireProtected(cpu: Cpu): void {
  if (!cpu.protectedMode || cpu.eflags & VM) ud();
}

function requireCpl0(cpu: Cpu): void {
  if (cpu.cpl !== 0) gp(0);
}

/** Sets or clears ZF, leaving the other status flags as they are. */
function setZf(cpu: Cpu, on: boolean): void {
  const f = cpu.flags.get();
  cpu.flags.setEager(on ? f | ZF : f & ~ZF);
}

/** The descriptor a selector names, or undefined when it is null or lies outside its table (no fault). */
function lookup(cpu: Cpu, selector: number): Descriptor | undefined {
  if ((selector & 0xfffc) === 0) return undefined;
  const ldt = (selector & 4) !== 0;
  if (ldt && cpu.segAttr[LDTR]! & ATTR_UNUSABLE) return undefined;
  const limit = ldt ? cpu.segLimit[LDTR]! : cpu.gdtLimit;
  if ((selector & 0xfff8) + 7 > limit) return undefined;
  return readDescriptor(cpu, selector);
}

/**
 * A 16-byte system descriptor's upper half (IA-32e mode): the base's bits 63:32; #GP(selector) when it lies
 * outside the GDT or its type field is not zero, as LLDT and LTR require.
 */
function upperBase(cpu: Cpu, selector: number): number {
  if ((selector & 0xfff8) + 15 > cpu.gdtLimit) fault(GP, selector & 0xfffc);
  const upper = readDescriptor(cpu, (selector & 0xfff8) + 8);
  if ((upper.hi >> 8) & 0x1f) fault(GP, selector & 0xfffc);
  return upper.lo;
}

/** LLDT and LTR: a system descriptor of `type` (a set of allowed types) from the GDT, with its base and limit. */
function loadSystemSegment(cpu: Cpu, seg: number, selector: number, types: number[]): void {
  if (selector & 4) fault(GP, selector & 0xfffc);
  const d = readDescriptor(cpu, selector);
  const attr = descriptorAttr(d.hi);
  if (attr & ATTR_S || !types.includes(attr & 0xf)) fault(GP, selector & 0xfffc);
  if (!(attr & ATTR_P)) fault(NP, selector & 0xfffc);
  let base = descriptorBase(d.lo, d.hi);
  if (cpu.longMode) {
    base = (upperBase(cpu, selector) | 0) * TWO32 + base;
    if (base < -CANONICAL || base >= CANONICAL) fault(GP, selector & 0xfffc);
  }
  let finalAttr = attr;
  if (seg === TR) {
    // The TSS becomes busy, in the GDT and in TR's cache.
    const mem = cpu.mem;
    const saved = mem.supervisorOverride;
    mem.supervisorOverride = true;
    try {
      mem.write32(d.at + 4, d.hi | 0x200);
    } finally {
      mem.supervisorOverride = saved;
    }
    finalAttr |= 2;
  }
  setSegment(cpu, seg, selector, base, descriptorLimit(d.lo, d.hi), finalAttr);
}

/** SLDT and STR: the selector to a register (zero-extended to the operand size) or a 16-bit memory word. */
function storeSelector(cpu: Cpu, i: Insn, seg: number): void {
  requireProtected(cpu);
  if (cpu.cr4 & CR4_UMIP && cpu.cpl > 0) gp(0);
  const v = cpu.segSel[seg]! & 0xffff;
  if (i.mod === 3) writeReg(cpu, i, i.rm, i.opsize, v);
  else writeRm(cpu, i, 2, v);
}

defGroup(MAP_0F + 0x00, 0, (cpu, i) => storeSelector(cpu, i, LDTR));
defGroup(MAP_0F + 0x00, 1, (cpu, i) => storeSelector(cpu, i, TR));
// LLDT: a null selector leaves LDTR unusable.
defGroup(MAP_0F + 0x00, 2, (cpu, i) => {
  requireProtected(cpu);
  requireCpl0(cpu);
  const selector = readRm(cpu, i, 2);
  if ((selector & 0xfffc) === 0) {
    setSegment(cpu, LDTR, selector, 0, 0, ATTR_UNUSABLE);
    return;
  }
  loadSystemSegment(cpu, LDTR, selector, [0x2]);
});
// LTR: an available TSS (32-bit, or 16-bit outside IA-32e mode).
defGroup(MAP_0F + 0x00, 3, (cpu, i) => {
  requireProtected(cpu);
  requireCpl0(cpu);
  const selector = readRm(cpu, i, 2);
  if ((selector & 0xfffc) === 0) gp(0);
  loadSystemSegment(cpu, TR, selector, cpu.longMode ? [0x9] : [0x1, 0x9]);
});

/** Whether the current privilege may see a code or data descriptor: DPL >= CPL and RPL, unless conforming code. */
function visible(cpu: Cpu, selector: number, attr: number): boolean {
  if ((attr & 0xc) === 0xc && attr & ATTR_S) return true;
  const dpl = attrDpl(attr);
  return dpl >= cpu.cpl && dpl >= (selector & 3);
}

// VERR (/4), VERW (/5): ZF = the segment is readable / writable at this privilege.
function verify(cpu: Cpu, i: Insn, write: boolean): void {
  requireProtected(cpu);
  const selector = readRm(cpu, i, 2);
  const d = lookup(cpu, selector);
  let ok = false;
  if (d) {
    const attr = descriptorAttr(d.hi);
    if (attr & ATTR_S && visible(cpu, selector, attr)) {
      const code = (attr & 8) !== 0;
      ok = write ? !code && (attr & 2) !== 0 : !code || (attr & 2) !== 0;
    }
  }
  setZf(cpu, ok);
}
defGroup(MAP_0F + 0x00, 4, (cpu, i) => verify(cpu, i, false));
defGroup(MAP_0F + 0x00, 5, (cpu, i) => verify(cpu, i, true));

/** System descriptor types LAR and LSL accept (LSL: only those with a limit). */
const LAR_LEGACY = [0x1, 0x2, 0x3, 0x4, 0x5, 0x9, 0xb, 0xc];
const LAR_LONG = [0x2, 0x9, 0xb, 0xc];
const LSL_LEGACY = [0x1, 0x2, 0x3, 0x9, 0xb];
const LSL_LONG = [0x2, 0x9, 0xb];

/** The descriptor LAR/LSL may report on, or undefined (ZF = 0). */
function accessible(cpu: Cpu, selector: number, lsl: boolean): Descriptor | undefined {
  const d = lookup(cpu, selector);
  if (!d) return undefined;
  const attr = descriptorAttr(d.hi);
  if (!(attr & ATTR_S)) {
    const types = cpu.longMode ? (lsl ? LSL_LONG : LAR_LONG) : lsl ? LSL_LEGACY : LAR_LEGACY;
    if (!types.includes(attr & 0xf)) return undefined;
  }
  return visible(cpu, selector, attr) ? d : undefined;
}

// LAR (0F 02): the access rights (second dword masked with 00FxFF00H); the destination changes only when ZF = 1.
def(MAP_0F + 0x02, (cpu, i) => {
  requireProtected(cpu);
  const selector = readRm(cpu, i, 2);
  const d = accessible(cpu, selector, false);
  if (d) writeReg(cpu, i, i.reg, i.opsize, i.opsize === 2 ? d.hi & 0xff00 : d.hi & 0x00f0ff00);
  setZf(cpu, d !== undefined);
});
// LSL (0F 03): the segment limit in bytes (scaled by G).
def(MAP_0F + 0x03, (cpu, i) => {
  requireProtected(cpu);
  const selector = readRm(cpu, i, 2);
  const d = accessible(cpu, selector, true);
  if (d) writeReg(cpu, i, i.reg, i.opsize, descriptorLimit(d.lo, d.hi) | 0);
  setZf(cpu, d !== undefined);
});

// MOV r, DRn (0F 21) and MOV DRn, r (0F 23): CPL 0; DR4/DR5 alias DR6/DR7 unless CR4.DE (then #UD).
/** DR6 bits that read as one; DR7's bit 10 reads as one. */
const DR6_FIXED = 0xffff0ff0;
const DR7_FIXED = 0x400;

function debugRegister(cpu: Cpu, i: Insn): number {
  let n = i.reg;
  if (n > 7) ud();
  if (n === 4 || n === 5) {
    if (cpu.cr4 & CR4_DE) ud();
    n += 2;
  }
  if (cpu.protectedMode && cpu.cpl !== 0) gp(0);
  return n;
}

def(MAP_0F + 0x21, (cpu, i) => {
  const n = debugRegister(cpu, i);
  let v = cpu.dr[n]!;
  if (n === 6) v = (v | DR6_FIXED) >>> 0;
  else if (n === 7) v = (v | DR7_FIXED) >>> 0;
  if (cpu.codeSize === 8) cpu.setRegNumber(i.rm, v);
  else {
    cpu.lo[i.rm] = v | 0;
    cpu.hi[i.rm] = 0;
  }
});
def(MAP_0F + 0x23, (cpu, i) => {
  const n = debugRegister(cpu, i);
  const wide = cpu.codeSize === 8;
  if (n >= 6) {
    // DR6 and DR7: the upper 32 bits must be zero in 64-bit mode.
    if (wide && cpu.hi[i.rm] !== 0) gp(0);
    const v = cpu.lo[i.rm]! >>> 0;
    cpu.dr[n] = n === 6 ? (v | DR6_FIXED) >>> 0 : (v | DR7_FIXED) >>> 0;
  } else cpu.dr[n] = wide ? cpu.regNumber(i.rm) : cpu.lo[i.rm]! >>> 0;
});

// BOUND (62): #BR when the signed index lies outside [lower, upper] read from memory; invalid in 64-bit mode.
def(0x62, (cpu, i) => {
  if (cpu.codeSize === 8 || i.mod === 3) ud();
  const size = i.opsize;
  const lin = cpu.mem.linear(i.seg, effectiveAddress(cpu, i), 2 * size);
  const mem = cpu.mem;
  const index = size === 2 ? (readReg(cpu, i, i.reg, 2) << 16) >> 16 : readReg(cpu, i, i.reg, 4) | 0;
  const lower = size === 2 ? (mem.read16(lin) << 16) >> 16 : mem.read32(lin);
  const upper = size === 2 ? (mem.read16(lin + 2) << 16) >> 16 : mem.read32(lin + 4);
  if (index < lower || index > upper) fault(BR);
});
