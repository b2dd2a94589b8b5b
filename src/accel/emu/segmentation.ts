// Segment descriptors and segment register loads (Intel SDM vol. 3, chapter 3 and 5): reading descriptors
// from the GDT or LDT with their checks, the descriptor cache, and real-mode loads that keep the cached limit
// (so big-real mode works).
import { ATTR_DB, ATTR_L, ATTR_P, ATTR_S, ATTR_UNUSABLE, attrDpl, type Cpu, CS, LDTR, SS, TR } from "./cpu.js";
import { fault, GP, NP, SS_VECTOR, TS } from "./fault.js";

/** A descriptor as read from a table: its two halves (and, for 16-byte system descriptors, the base's top half). */
export interface Descriptor {
  lo: number;
  hi: number;
  /** Where the descriptor lives (linear), to set its accessed or busy bit. */
  at: number;
}

/** Attributes in the VMX access-rights layout from a descriptor's high half. */
export function descriptorAttr(hi: number): number {
  return ((hi >>> 8) & 0xff) | ((hi >>> 8) & 0xf000);
}
export function descriptorBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
}
export function descriptorLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return hi & (1 << 23) ? raw * 4096 + 0xfff : raw;
}

/** Reads the descriptor `selector` names; #GP(selector) (or `vector`) when it lies outside its table. */
export function readDescriptor(cpu: Cpu, selector: number, vector = GP): Descriptor {
  const ldt = (selector & 4) !== 0;
  const base = ldt ? cpu.segBase[LDTR]! : cpu.gdtBase;
  const limit = ldt ? cpu.segLimit[LDTR]! : cpu.gdtLimit;
  const index = selector & 0xfff8;
  if ((ldt && cpu.segAttr[LDTR]! & ATTR_UNUSABLE) || index + 7 > limit) fault(vector, selector & 0xfffc);
  const at = base + index;
  const mem = cpu.mem;
  const saved = mem.supervisorOverride;
  mem.supervisorOverride = true;
  try {
    return { lo: mem.read32(at), hi: mem.read32(at + 4), at };
  } finally {
    mem.supervisorOverride = saved;
  }
}

/** Sets a segment register's visible and hidden parts. */
export function setSegment(cpu: Cpu, seg: number, selector: number, base: number, limit: number, attr: number): void {
  cpu.segSel[seg] = selector;
  cpu.segBase[seg] = base;
  cpu.segLimit[seg] = limit;
  cpu.segAttr[seg] = attr;
  if (seg === CS || seg === SS) cpu.updateMode();
}

/** Marks a descriptor accessed in its table, as the processor does on a load. */
function setAccessed(cpu: Cpu, d: Descriptor): void {
  if (d.hi & 0x100) return;
  const mem = cpu.mem;
  const saved = mem.supervisorOverride;
  mem.supervisorOverride = true;
  try {
    mem.write32(d.at + 4, d.hi | 0x100);
  } finally {
    mem.supervisorOverride = saved;
  }
}

/** Loads a segment from a descriptor already checked by the caller. */
export function loadFromDescriptor(cpu: Cpu, seg: number, selector: number, d: Descriptor): void {
  setAccessed(cpu, d);
  const hi = d.hi | 0x100;
  setSegment(cpu, seg, selector, descriptorBase(d.lo, hi), descriptorLimit(d.lo, hi), descriptorAttr(hi));
}

/** A null selector in a data segment register: usable only for loading, faults on access. */
export function loadNull(cpu: Cpu, seg: number, selector: number): void {
  setSegment(cpu, seg, selector, 0, 0, ATTR_UNUSABLE);
}

/**
 * MOV/POP to a data segment register or SS (SDM vol. 2, MOV): real mode sets base = selector << 4 and keeps
 * the cached limit and attributes; protected mode checks the descriptor.
 */
export function loadDataSegment(cpu: Cpu, seg: number, selector: number): void {
  selector &= 0xffff;
  if (!cpu.protectedMode || cpu.eflags & (1 << 17)) {
    cpu.segSel[seg] = selector;
    cpu.segBase[seg] = selector * 16;
    if (cpu.eflags & (1 << 17)) {
      cpu.segLimit[seg] = 0xffff;
      cpu.segAttr[seg] = ATTR_P | ATTR_S | 0x3 | (3 << 5);
    } else if (cpu.segAttr[seg]! & ATTR_UNUSABLE) {
      cpu.segAttr[seg] = ATTR_P | ATTR_S | 0x3;
    }
    if (seg === SS) cpu.updateMode();
    return;
  }
  const rpl = selector & 3;
  if ((selector & 0xfffc) === 0) {
    // A null selector: fine for data segments (and for SS in 64-bit mode below CPL 3).
    if (seg === SS && !(cpu.codeSize === 8 && cpu.cpl !== 3 && rpl === cpu.cpl)) fault(GP, 0);
    loadNull(cpu, seg, selector);
    return;
  }
  const d = readDescriptor(cpu, selector);
  const attr = descriptorAttr(d.hi);
  const dpl = attrDpl(attr);
  const type = attr & 0xf;
  const code = (type & 8) !== 0;
  if (!(attr & ATTR_S)) fault(GP, selector & 0xfffc);
  if (seg === SS) {
    if (rpl !== cpu.cpl || dpl !== cpu.cpl || code || !(type & 2)) fault(GP, selector & 0xfffc);
    if (!(attr & ATTR_P)) fault(SS_VECTOR, selector & 0xfffc);
  } else {
    // Data, or readable code; non-conforming ones need DPL >= max(CPL, RPL).
    if (code && !(type & 2)) fault(GP, selector & 0xfffc);
    const conforming = code && (type & 4) !== 0;
    if (!conforming && (rpl > dpl || cpu.cpl > dpl)) fault(GP, selector & 0xfffc);
    if (!(attr & ATTR_P)) fault(NP, selector & 0xfffc);
  }
  loadFromDescriptor(cpu, seg, selector, d);
}

/**
 * Checks a code segment selector as the target of a far transfer to privilege `cpl` (the caller picked it)
 * and loads CS with RPL = that privilege.
 */
export function loadCodeSegment(cpu: Cpu, selector: number, d: Descriptor, newCpl: number): void {
  const attr = descriptorAttr(d.hi);
  if (!(attr & ATTR_S) || !(attr & 8)) fault(GP, selector & 0xfffc);
  if (!(attr & ATTR_P)) fault(NP, selector & 0xfffc);
  if (cpu.longMode && attr & ATTR_L && attr & ATTR_DB) fault(GP, selector & 0xfffc);
  loadFromDescriptor(cpu, CS, (selector & 0xfffc) | newCpl, d);
  cpu.cpl = newCpl;
  cpu.updateMode();
}

/** Real-mode (or virtual-8086) CS load: base = selector << 4. */
export function loadRealCs(cpu: Cpu, selector: number): void {
  cpu.segSel[CS] = selector & 0xffff;
  cpu.segBase[CS] = (selector & 0xffff) * 16;
  cpu.updateMode();
}

/** The TSS's base and limit, for stack switches and the I/O bitmap; #TS when TR is unusable. */
export function tssBase(cpu: Cpu): number {
  if (cpu.segAttr[TR]! & ATTR_UNUSABLE) fault(TS, cpu.segSel[TR]! & 0xfffc);
  return cpu.segBase[TR]!;
}
