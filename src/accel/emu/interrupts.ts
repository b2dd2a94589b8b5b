// Delivery of exceptions and interrupts (Intel SDM vol. 3, chapter 6): the IVT in real mode; 16- and 32-bit
// interrupt and trap gates with the privilege change and stack switch from the TSS; 64-bit gates with IST;
// #DF when delivery itself faults, and a triple fault (shutdown) when #DF does.
import { ATTR_DB, ATTR_L, ATTR_UNUSABLE, attrDpl, type Cpu, CS, RSP, SS } from "./cpu.js";
import { DF, FAULT, fault, GP, NP, PF_VECTOR, SS_VECTOR, TS } from "./fault.js";
import { AC, IF, NT, RF, TF, VM } from "./flags.js";
import {
  descriptorAttr,
  loadCodeSegment,
  loadFromDescriptor,
  loadNull,
  readDescriptor,
  setSegment,
  tssBase,
} from "./segmentation.js";
import { push, setStackPointer } from "./stack.js";

/** What raised the event: it decides the EXT bit and the gate-DPL check. */
export enum EventKind {
  /** A processor exception (EXT = 1 in error codes, no DPL check). */
  EXCEPTION = 0,
  /** INT n, INT3, INTO (DPL checked). */
  SOFTWARE = 1,
  /** A hardware interrupt (EXT = 1). */
  EXTERNAL = 2,
}

const GATE_TASK = 0x5;
const GATE_INT16 = 0x6;
const GATE_TRAP16 = 0x7;
const GATE_INT32 = 0xe;
const GATE_TRAP32 = 0xf;

/** The triple fault: delivery of #DF itself faulted. */
export class TripleFault extends Error {
  constructor() {
    super("triple fault");
  }
}

/**
 * Delivers `vector` with the current RIP (cpu.ip) as the return address for faults, or cpu.nextIp for traps
 * and software interrupts (the caller sets cpu.ip accordingly before calling).
 */
export function deliver(cpu: Cpu, vector: number, kind: EventKind, errorCode: number, hasError: boolean): void {
  if (!cpu.protectedMode) {
    deliverReal(cpu, vector);
    return;
  }
  const ext = kind === EventKind.SOFTWARE ? 0 : 1;
  const gateSize = cpu.longMode ? 16 : 8;
  if (vector * gateSize + gateSize - 1 > cpu.idtLimit) fault(GP, vector * 8 + 2 + ext);
  const mem = cpu.mem;
  const saved = mem.supervisorOverride;
  mem.supervisorOverride = true;
  let lo: number;
  let hi: number;
  let hi2 = 0;
  try {
    const at = cpu.idtBase + vector * gateSize;
    lo = mem.read32(at);
    hi = mem.read32(at + 4);
    if (gateSize === 16) hi2 = mem.read32(at + 8);
  } finally {
    mem.supervisorOverride = saved;
  }
  const type = (hi >> 8) & 0x1f;
  const gateDpl = (hi >> 13) & 3;
  const idtError = vector * 8 + 2 + ext;
  if (type === GATE_TASK) {
    throw new Error(`task gates are not emulated (vector ${vector})`);
  }
  const valid = cpu.longMode
    ? type === GATE_INT32 || type === GATE_TRAP32
    : type === GATE_INT16 || type === GATE_TRAP16 || type === GATE_INT32 || type === GATE_TRAP32;
  if (!valid) fault(GP, idtError);
  if (kind === EventKind.SOFTWARE && gateDpl < cpu.cpl) fault(GP, idtError);
  if (!(hi & 0x8000)) fault(NP, idtError);
  const selector = lo >>> 16;
  let offset = (lo & 0xffff) | (hi & 0xffff0000);
  if (cpu.longMode) offset = (hi2 | 0) * 4294967296 + (offset >>> 0);
  else offset >>>= 0;
  if ((selector & 0xfffc) === 0) fault(GP, ext);
  const d = readDescriptor(cpu, selector);
  const attr = descriptorAttr(d.hi);
  if (!(attr & 8) || !(attr & 0x10)) fault(GP, (selector & 0xfffc) + ext);
  const dpl = attrDpl(attr);
  const conforming = (attr & 4) !== 0;
  if (dpl > cpu.cpl) fault(GP, (selector & 0xfffc) + ext);
  if (!(attr & 0x80)) fault(NP, (selector & 0xfffc) + ext);
  if (cpu.longMode && (!(attr & ATTR_L) || attr & ATTR_DB)) fault(GP, (selector & 0xfffc) + ext);
  const newCpl = conforming ? cpu.cpl : dpl;
  const is32 = (type & 8) !== 0;
  const trap = (type & 1) !== 0;

  const oldFlags = cpu.getEflags();
  const oldCs = cpu.segSel[CS]!;
  const oldIp = cpu.ip;
  const oldSs = cpu.segSel[SS]!;
  const oldSpLo = cpu.lo[RSP]!;
  const oldSpHi = cpu.hi[RSP]!;

  // A fault while switching (a bad stack segment, #PF or #SS pushing the frame) must leave CS, SS and RSP as
  // they were: the fault is then delivered from the interrupted context.
  saveSegments(cpu);
  try {
    if (cpu.longMode) {
      const istIndex = readIst(cpu, vector);
      let newSp: number | undefined;
      if (istIndex) newSp = readTss64(cpu, 0x24 + (istIndex - 1) * 8);
      else if (newCpl < cpu.cpl) newSp = readTss64(cpu, 4 + newCpl * 8);
      if (newCpl < cpu.cpl) {
        // The new SS is a null selector with RPL = the new CPL.
        loadNull(cpu, SS, newCpl);
        cpu.segAttr[SS] = ATTR_UNUSABLE | (newCpl << 5);
      }
      loadCodeSegment(cpu, selector, d, newCpl);
      cpu.stackSize = 8;
      if (newSp !== undefined) cpu.setRegNumber(RSP, newSp);
      // The stack is aligned to 16 bytes before the frame is pushed.
      cpu.setRegNumber(RSP, cpu.regNumber(RSP) - (((cpu.lo[RSP]! % 16) + 16) % 16));
      push(cpu, 8, oldSs);
      push(cpu, 8, oldSpLo, oldSpHi);
      push(cpu, 8, oldFlags);
      push(cpu, 8, oldCs);
      pushIp(cpu, 8, oldIp);
      if (hasError) push(cpu, 8, errorCode);
    } else {
      const size = is32 ? 4 : 2;
      if (newCpl < cpu.cpl) {
        const tss = tssBase(cpu);
        const mem2 = cpu.mem;
        mem2.supervisorOverride = true;
        let newSp: number;
        let newSs: number;
        try {
          newSp = mem2.read32(tss + 4 + newCpl * 8) >>> 0;
          newSs = mem2.read16(tss + 8 + newCpl * 8);
        } finally {
          mem2.supervisorOverride = saved;
        }
        if ((newSs & 0xfffc) === 0) fault(TS, ext);
        const sd = readDescriptor(cpu, newSs, TS);
        // The inner stack: RPL and DPL = the new CPL, a writable data segment, present (SDM vol. 3, 6.12.1).
        const sattr = descriptorAttr(sd.hi);
        const writableData = (sattr & 0x10) !== 0 && (sattr & 0xa) === 0x2;
        if ((newSs & 3) !== newCpl || attrDpl(sattr) !== newCpl || !writableData) fault(TS, (newSs & 0xfffc) + ext);
        if (!(sattr & 0x80)) fault(SS_VECTOR, (newSs & 0xfffc) + ext);
        loadFromDescriptor(cpu, SS, newSs, sd);
        loadCodeSegment(cpu, selector, d, newCpl);
        setStackPointer(cpu, newSp);
        push(cpu, size, oldSs);
        push(cpu, size, oldSpLo);
      } else {
        loadCodeSegment(cpu, selector, d, newCpl);
      }
      push(cpu, size, oldFlags);
      push(cpu, size, oldCs);
      push(cpu, size, oldIp);
      if (hasError) push(cpu, size, errorCode);
    }
  } catch (e) {
    if (e === FAULT) restoreSegments(cpu, oldSpLo, oldSpHi);
    throw e;
  }
  cpu.eflags &= ~(TF | NT | RF | VM);
  if (!trap) cpu.eflags &= ~IF;
  cpu.ip = offset;
  cpu.nextIp = offset;
}

/** CS and SS as they were before a delivery started (see restoreSegments). */
const savedSegs = new Float64Array(8);

function saveSegments(cpu: Cpu): void {
  savedSegs[0] = cpu.segSel[CS]!;
  savedSegs[1] = cpu.segBase[CS]!;
  savedSegs[2] = cpu.segLimit[CS]!;
  savedSegs[3] = cpu.segAttr[CS]!;
  savedSegs[4] = cpu.segSel[SS]!;
  savedSegs[5] = cpu.segBase[SS]!;
  savedSegs[6] = cpu.segLimit[SS]!;
  savedSegs[7] = cpu.segAttr[SS]!;
}

function restoreSegments(cpu: Cpu, spLo: number, spHi: number): void {
  setSegment(cpu, SS, savedSegs[4]!, savedSegs[5]!, savedSegs[6]!, savedSegs[7]!);
  setSegment(cpu, CS, savedSegs[0]!, savedSegs[1]!, savedSegs[2]!, savedSegs[3]!);
  cpu.lo[RSP] = spLo;
  cpu.hi[RSP] = spHi;
}

/** The IST index of a 64-bit gate (bits 0-2 of its second dword). */
function readIst(cpu: Cpu, vector: number): number {
  const mem = cpu.mem;
  const saved = mem.supervisorOverride;
  mem.supervisorOverride = true;
  try {
    return mem.read32(cpu.idtBase + vector * 16 + 4) & 7;
  } finally {
    mem.supervisorOverride = saved;
  }
}

function readTss64(cpu: Cpu, offset: number): number {
  const base = tssBase(cpu);
  const mem = cpu.mem;
  const saved = mem.supervisorOverride;
  mem.supervisorOverride = true;
  try {
    const lo = mem.read64(base + offset);
    return cpu.vHi * 4294967296 + (lo >>> 0);
  } finally {
    mem.supervisorOverride = saved;
  }
}

function pushIp(cpu: Cpu, size: number, ip: number): void {
  push(cpu, size, ip | 0, Math.floor(ip / 4294967296) | 0);
}

/** Real mode: FLAGS, CS and IP on the stack, CS:IP from the interrupt vector table. */
function deliverReal(cpu: Cpu, vector: number): void {
  if (vector * 4 + 3 > cpu.idtLimit) fault(GP, 0);
  const mem = cpu.mem;
  const entry = mem.read32(cpu.idtBase + vector * 4);
  push(cpu, 2, cpu.getEflags() & 0xffff);
  push(cpu, 2, cpu.segSel[CS]!);
  push(cpu, 2, cpu.ip & 0xffff);
  cpu.eflags &= ~(IF | TF | AC | RF);
  setSegment(cpu, CS, entry >>> 16, (entry >>> 16) * 16, cpu.segLimit[CS]!, cpu.segAttr[CS]!);
  cpu.ip = entry & 0xffff;
  cpu.nextIp = cpu.ip;
}

/**
 * Delivers a fault raised by an instruction, turning a fault during delivery into #DF where the SDM's table
 * 6-5 says so (contributory after contributory, anything but a benign one after #PF), and a fault during #DF
 * into a triple fault (thrown as TripleFault).
 */
export function deliverException(cpu: Cpu, vector: number, errorCode: number, hasError: boolean): void {
  try {
    deliver(cpu, vector, EventKind.EXCEPTION, errorCode, hasError);
  } catch (e) {
    if (e !== FAULT) throw e;
    if (vector === DF) throw new TripleFault();
    const second = FAULT.vector;
    const double =
      (contributory(vector) && contributory(second)) ||
      (vector === PF_VECTOR && (contributory(second) || second === PF_VECTOR));
    if (!double) {
      deliverException(cpu, second, FAULT.errorCode, FAULT.hasErrorCode);
      return;
    }
    deliverException(cpu, DF, 0, true);
  }
}

function contributory(v: number): boolean {
  return v === 0 || (v >= 10 && v <= 13);
}
