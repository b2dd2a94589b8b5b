// Far control transfers (Intel SDM vol. 2, JMP, CALL, RET; vol. 3, 5.8): JMP far (EA, FF /5), CALL far (9A,
// FF /3) and RETF (CB, CA imm16) in real and virtual-8086 mode (CS base = selector << 4), in protected mode to
// conforming and non-conforming code segments and through call gates (a CALL to a more privileged segment
// switches to the stack the TSS names and copies the gate's parameters), and in IA-32e mode (REX.W forms,
// 64-bit call gates, a CS with L = 1 entering 64-bit mode). RETF to an outer privilege pops SS:rSP too and
// nulls the data segment registers the new CPL may not use. Task switches (a TSS or task gate as target) are
// not emulated: the run ends with a failure that says so.
import {
  ATTR_DB,
  ATTR_L,
  ATTR_P,
  ATTR_S,
  ATTR_UNUSABLE,
  attrDpl,
  type Cpu,
  CS,
  DS,
  ES,
  FS,
  GS,
  RSP,
  SS,
  TR,
} from "../cpu.js";
import { FAULT, fault, GP, gp, NP, SS_VECTOR, TS, ud } from "../fault.js";
import { VM } from "../flags.js";
import type { Insn } from "../insn.js";
import { def, defGroup } from "../opcodes.js";
import { effectiveAddress } from "../operands.js";
import {
  type Descriptor,
  descriptorAttr,
  descriptorLimit,
  loadCodeSegment,
  loadFromDescriptor,
  loadNull,
  loadRealCs,
  readDescriptor,
  tssBase,
} from "../segmentation.js";
import { adjustStack, peek, push, setStackPointer } from "../stack.js";

const CANONICAL = 2 ** 47;
const TWO32 = 4294967296;

/** The error a far transfer to a task (TSS or task gate) ends the run with: the interpreter reports it. */
export function taskSwitch(what: string): never {
  throw new Error(`task gates and task switches are not emulated (${what})`);
}

/** REX.W of a 64-bit-mode instruction: the decoder folds it into opsize, and FF's far forms need it apart. */
export function rexW(i: Insn): boolean {
  let rex = 0;
  for (const b of i.bytes) {
    if ((b & 0xf0) === 0x40) rex = b;
    else if (
      b === 0x66 ||
      b === 0x67 ||
      b === 0xf0 ||
      b === 0xf2 ||
      b === 0xf3 ||
      (b & 0xe7) === 0x26 ||
      b === 0x64 ||
      b === 0x65
    )
      rex = 0;
    else break;
  }
  return (rex & 8) !== 0;
}

/** Real mode or virtual-8086 mode: segments are selector << 4. */
export const realAddressing = (cpu: Cpu) => !cpu.protectedMode || (cpu.eflags & VM) !== 0;

/** A value read from the stack (peek) as a number: sizes 2 and 4 unsigned, 8 signed (high half from vHi). */
export function stackValue(cpu: Cpu, size: number, depth: number): number {
  const lo = peek(cpu, size, depth);
  return size === 8 ? cpu.vHi * TWO32 + (lo >>> 0) : lo;
}

/** Truncates an offset to an operand size (8: as is). */
const truncate = (v: number, size: number) => (size === 2 ? v & 0xffff : size === 4 ? v >>> 0 : v);

/**
 * Checks that `offset` may be the new RIP in code segment `d`: canonical for a 64-bit segment in IA-32e
 * mode, within the limit otherwise. #GP(0).
 */
export function checkTarget(cpu: Cpu, d: Descriptor, offset: number): void {
  const attr = descriptorAttr(d.hi);
  if (cpu.longMode && attr & ATTR_L) {
    if (offset < -CANONICAL || offset >= CANONICAL) gp(0);
  } else if (offset < 0 || offset > descriptorLimit(d.lo, d.hi)) gp(0);
}

/**
 * The checks every far transfer to a code segment makes on the descriptor itself (SDM vol. 3, 5.8.1):
 * a code segment, present, not L and D together; `dpl` rules are the caller's.
 */
function requireCode(cpu: Cpu, selector: number, attr: number): void {
  if (!(attr & ATTR_S) || !(attr & 8)) fault(GP, selector & 0xfffc);
  if (cpu.longMode && attr & ATTR_L && attr & ATTR_DB) fault(GP, selector & 0xfffc);
}

/** After a return to an outer privilege: ES, DS, FS, GS holding data or non-conforming code the new CPL may not use become null. */
const DATA_SEGMENTS = [ES, DS, FS, GS];
export function nullInaccessibleSegments(cpu: Cpu): void {
  for (const seg of DATA_SEGMENTS) {
    const attr = cpu.segAttr[seg]!;
    if (attr & ATTR_UNUSABLE || !(attr & ATTR_S)) continue;
    const conformingCode = (attr & 0xc) === 0xc;
    if (!conformingCode && attrDpl(attr) < cpu.cpl) loadNull(cpu, seg, 0);
  }
}

/**
 * Validates the SS selector a return to privilege `rpl` pops (SDM vol. 2, RET and IRET): its RPL and DPL are
 * `rpl`, it is a present writable data segment. A null SS is allowed only when returning to 64-bit mode
 * below CPL 3 (`nullOk`). Returns the descriptor (undefined for null).
 */
export function checkReturnSs(cpu: Cpu, selector: number, rpl: number, nullOk: boolean): Descriptor | undefined {
  if ((selector & 0xfffc) === 0) {
    if (!nullOk || (selector & 3) !== rpl) gp(0);
    return undefined;
  }
  const d = readDescriptor(cpu, selector);
  const attr = descriptorAttr(d.hi);
  const writableData = (attr & ATTR_S) !== 0 && (attr & 0xa) === 0x2;
  if ((selector & 3) !== rpl || !writableData || attrDpl(attr) !== rpl) fault(GP, selector & 0xfffc);
  if (!(attr & ATTR_P)) fault(SS_VECTOR, selector & 0xfffc);
  return d;
}

/** Loads SS from a checked selector (a null one with RPL = `cpl` in 64-bit mode). */
export function loadSs(cpu: Cpu, selector: number, d: Descriptor | undefined, cpl: number): void {
  if (d) loadFromDescriptor(cpu, SS, selector, d);
  else {
    loadNull(cpu, SS, selector);
    cpu.segAttr[SS] = ATTR_UNUSABLE | (cpl << 5) | ATTR_DB;
    cpu.updateMode();
  }
}

// ---- state saved across multi-step transfers, so that a fault leaves the architectural state unchanged ----

const savedSel = new Int32Array(2);
const savedBase = new Float64Array(2);
const savedLimit = new Float64Array(2);
const savedAttr = new Int32Array(2);
let savedSpLo = 0;
let savedSpHi = 0;
let savedEflags = 0;

/** Saves CS, SS and RSP (what a far call changes before its pushes). */
export function saveControl(cpu: Cpu): void {
  for (let k = 0; k < 2; k++) {
    const seg = k === 0 ? CS : SS;
    savedSel[k] = cpu.segSel[seg]!;
    savedBase[k] = cpu.segBase[seg]!;
    savedLimit[k] = cpu.segLimit[seg]!;
    savedAttr[k] = cpu.segAttr[seg]!;
  }
  savedSpLo = cpu.lo[RSP]!;
  savedSpHi = cpu.hi[RSP]!;
  savedEflags = cpu.eflags;
}

/** Puts back what saveControl saved (CPL and the mode follow CS). */
export function restoreControl(cpu: Cpu): void {
  cpu.eflags = savedEflags;
  for (let k = 0; k < 2; k++) {
    const seg = k === 0 ? CS : SS;
    cpu.segSel[seg] = savedSel[k]!;
    cpu.segBase[seg] = savedBase[k]!;
    cpu.segLimit[seg] = savedLimit[k]!;
    cpu.segAttr[seg] = savedAttr[k]!;
  }
  cpu.lo[RSP] = savedSpLo;
  cpu.hi[RSP] = savedSpHi;
  cpu.updateMode();
}

/** Pushes the return address CS:rIP (`size` bytes each) on the current stack; RSP is unchanged if either push faults. */
function pushFarReturn(cpu: Cpu, size: number, cs: number, ip: number): void {
  const lo = cpu.lo[RSP]!;
  const hi = cpu.hi[RSP]!;
  try {
    push(cpu, size, cs);
    push(cpu, size, ip | 0, Math.floor(ip / TWO32) | 0);
  } catch (e) {
    cpu.lo[RSP] = lo;
    cpu.hi[RSP] = hi;
    throw e;
  }
}

/**
 * JMP or CALL far to `selector`:`offset` with operand size `size` (the offset already read at that size).
 * `call` pushes the return address (cpu.nextIp).
 */
export function farTransfer(cpu: Cpu, selector: number, offset: number, size: number, call: boolean): void {
  selector &= 0xffff;
  offset = truncate(offset, size);
  if (realAddressing(cpu)) {
    if (offset > cpu.segLimit[CS]!) gp(0);
    if (call) pushFarReturn(cpu, size, cpu.segSel[CS]!, cpu.nextIp);
    loadRealCs(cpu, selector);
    cpu.nextIp = offset;
    cpu.stopBlock = true;
    return;
  }
  if ((selector & 0xfffc) === 0) gp(0);
  const d = readDescriptor(cpu, selector);
  const attr = descriptorAttr(d.hi);
  const cpl = cpu.cpl;
  if (attr & ATTR_S) {
    requireCode(cpu, selector, attr);
    const dpl = attrDpl(attr);
    const conforming = (attr & 4) !== 0;
    if (conforming ? dpl > cpl : (selector & 3) > cpl || dpl !== cpl) fault(GP, selector & 0xfffc);
    if (!(attr & ATTR_P)) fault(NP, selector & 0xfffc);
    checkTarget(cpu, d, offset);
    if (call) pushFarReturn(cpu, size, cpu.segSel[CS]!, cpu.nextIp);
    loadCodeSegment(cpu, selector, d, cpl);
    cpu.nextIp = offset;
    cpu.stopBlock = true;
    return;
  }
  const type = attr & 0xf;
  const callGate = cpu.longMode ? type === 0xc : type === 0x4 || type === 0xc;
  if (callGate) {
    throughCallGate(cpu, selector, d, call);
    return;
  }
  if (!cpu.longMode && (type === 0x5 || type === 0x1 || type === 0x9)) {
    taskSwitch(`far ${call ? "CALL" : "JMP"} to selector 0x${selector.toString(16)}`);
  }
  fault(GP, selector & 0xfffc);
}

/** A far JMP or CALL through a call gate (SDM vol. 3, 5.8.4-5.8.6). */
function throughCallGate(cpu: Cpu, gateSelector: number, gate: Descriptor, call: boolean): void {
  const gateAttr = descriptorAttr(gate.hi);
  const cpl = cpu.cpl;
  const gateDpl = attrDpl(gateAttr);
  if (gateDpl < cpl || gateDpl < (gateSelector & 3)) fault(GP, gateSelector & 0xfffc);
  if (!(gateAttr & ATTR_P)) fault(NP, gateSelector & 0xfffc);
  const long = cpu.longMode;
  let offset = (gate.lo & 0xffff) | (gate.hi & 0xffff0000);
  let gateSize = gateAttr & 8 ? 4 : 2;
  if (long) {
    // 16-byte gate: the offset's top half, and a type field that must read 0 in the upper eight bytes.
    if ((gateSelector & 0xfff8) + 15 > (gateSelector & 4 ? cpu.segLimit[6]! : cpu.gdtLimit)) {
      fault(GP, gateSelector & 0xfffc);
    }
    const upper = readDescriptor(cpu, (gateSelector & 0xfffc) + 8);
    if ((upper.hi >> 8) & 0x1f) fault(GP, gateSelector & 0xfffc);
    offset = upper.lo * TWO32 + (offset >>> 0);
    gateSize = 8;
  } else offset = gateSize === 2 ? offset & 0xffff : offset >>> 0;

  const selector = gate.lo >>> 16;
  if ((selector & 0xfffc) === 0) gp(0);
  const d = readDescriptor(cpu, selector);
  const attr = descriptorAttr(d.hi);
  requireCode(cpu, selector, attr);
  const dpl = attrDpl(attr);
  const conforming = (attr & 4) !== 0;
  if (dpl > cpl) fault(GP, selector & 0xfffc);
  if (long && (!(attr & ATTR_L) || attr & ATTR_DB)) fault(GP, selector & 0xfffc);
  if (!call && !conforming && dpl !== cpl) fault(GP, selector & 0xfffc);
  if (!(attr & ATTR_P)) fault(NP, selector & 0xfffc);
  checkTarget(cpu, d, offset);

  const returnIp = cpu.nextIp;
  const oldCs = cpu.segSel[CS]!;
  if (!call) {
    loadCodeSegment(cpu, selector, d, cpl);
  } else if (conforming || dpl === cpl) {
    pushFarReturn(cpu, gateSize, oldCs, returnIp);
    loadCodeSegment(cpu, selector, d, cpl);
  } else {
    callToInnerPrivilege(cpu, gate, gateSize, selector, d, dpl, oldCs, returnIp);
  }
  cpu.nextIp = offset;
  cpu.stopBlock = true;
}

/**
 * CALL through a gate to a more privileged non-conforming segment: the stack for privilege `dpl` from the TSS,
 * then the caller's SS and rSP, the gate's parameters (not in IA-32e mode) and CS:rIP pushed on it.
 */
function callToInnerPrivilege(
  cpu: Cpu,
  gate: Descriptor,
  gateSize: number,
  selector: number,
  d: Descriptor,
  dpl: number,
  oldCs: number,
  returnIp: number,
): void {
  const tss = tssBase(cpu);
  const mem = cpu.mem;
  const oldSs = cpu.segSel[SS]!;
  const oldSp =
    cpu.stackSize === 8 ? cpu.regNumber(RSP) : cpu.stackSize === 4 ? cpu.lo[RSP]! >>> 0 : cpu.lo[RSP]! & 0xffff;
  let newSp: number;
  let newSs = 0;
  let ssDescriptor: Descriptor | undefined;
  const saved = mem.supervisorOverride;
  mem.supervisorOverride = true;
  try {
    if (cpu.longMode) {
      const lo = mem.read64(tss + 4 + dpl * 8);
      newSp = cpu.vHi * TWO32 + (lo >>> 0);
      if (newSp < -CANONICAL || newSp >= CANONICAL) fault(SS_VECTOR, 0);
    } else {
      // A 32-bit TSS (type 9/B) keeps ESPn:SSn at 4 + 8n; a 16-bit one (type 1/3) SPn:SSn at 2 + 4n.
      const tss32 = (cpu.segAttr[TR]! & 8) !== 0;
      const at = tss32 ? tss + 4 + dpl * 8 : tss + 2 + dpl * 4;
      if ((tss32 ? 4 + dpl * 8 + 5 : 2 + dpl * 4 + 3) > cpu.segLimit[TR]!) fault(TS, cpu.segSel[TR]! & 0xfffc);
      newSp = tss32 ? mem.read32(at) >>> 0 : mem.read16(at);
      newSs = mem.read16(at + (tss32 ? 4 : 2));
    }
  } finally {
    mem.supervisorOverride = saved;
  }
  if (!cpu.longMode) {
    if ((newSs & 0xfffc) === 0) fault(TS, 0);
    const sd = readDescriptor(cpu, newSs, TS);
    const sattr = descriptorAttr(sd.hi);
    const writableData = (sattr & ATTR_S) !== 0 && (sattr & 0xa) === 0x2;
    if ((newSs & 3) !== dpl || attrDpl(sattr) !== dpl || !writableData) fault(TS, newSs & 0xfffc);
    if (!(sattr & ATTR_P)) fault(SS_VECTOR, newSs & 0xfffc);
    ssDescriptor = sd;
  }
  // The parameters, read from the caller's stack before anything changes.
  const count = cpu.longMode ? 0 : gate.hi & 0x1f;
  const params: number[] = [];
  for (let k = 0; k < count; k++) params.push(peek(cpu, gateSize, k * gateSize));

  saveControl(cpu);
  try {
    if (ssDescriptor) loadSs(cpu, newSs, ssDescriptor, dpl);
    else loadSs(cpu, dpl, undefined, dpl);
    loadCodeSegment(cpu, selector, d, dpl);
    if (cpu.longMode) cpu.setRegNumber(RSP, newSp);
    else setStackPointer(cpu, newSp);
    push(cpu, gateSize, oldSs);
    push(cpu, gateSize, oldSp | 0, Math.floor(oldSp / TWO32) | 0);
    for (let k = count - 1; k >= 0; k--) push(cpu, gateSize, params[k]!);
    push(cpu, gateSize, oldCs);
    push(cpu, gateSize, returnIp | 0, Math.floor(returnIp / TWO32) | 0);
  } catch (e) {
    if (e === FAULT) restoreControl(cpu);
    throw e;
  }
}

/** The operand size of FF /3 and FF /5: 32 bits by default in 64-bit mode, 64 with REX.W. */
function farOperandSize(cpu: Cpu, i: Insn): number {
  if (cpu.codeSize !== 8 || i.opsize === 2) return i.opsize;
  return rexW(i) ? 8 : 4;
}

/** The far pointer m16:16/32/64 of FF /3 and /5: offset first, then the selector. */
function farPointer(cpu: Cpu, i: Insn, size: number): number {
  if (i.mod === 3) ud();
  const lin = cpu.mem.linear(i.seg, effectiveAddress(cpu, i), size + 2);
  const mem = cpu.mem;
  let offset: number;
  if (size === 8) {
    const lo = mem.read64(lin);
    offset = cpu.vHi * TWO32 + (lo >>> 0);
  } else offset = size === 4 ? mem.read32(lin) >>> 0 : mem.read16(lin);
  cpu.vHi = mem.read16(lin + size);
  return offset;
}

// JMP ptr16:16/32 (EA), CALL ptr16:16/32 (9A): invalid in 64-bit mode (the decoder raises #UD).
def(0xea, (cpu, i) => farTransfer(cpu, i.imm2, i.imm >>> 0, i.opsize, false), true);
def(0x9a, (cpu, i) => farTransfer(cpu, i.imm2, i.imm >>> 0, i.opsize, true), true);
// CALL m16:16/32/64 (FF /3), JMP m16:16/32/64 (FF /5).
defGroup(
  0xff,
  3,
  (cpu, i) => {
    const size = farOperandSize(cpu, i);
    const offset = farPointer(cpu, i, size);
    farTransfer(cpu, cpu.vHi, offset, size, true);
  },
  true,
);
defGroup(
  0xff,
  5,
  (cpu, i) => {
    const size = farOperandSize(cpu, i);
    const offset = farPointer(cpu, i, size);
    farTransfer(cpu, cpu.vHi, offset, size, false);
  },
  true,
);

/** RETF with `release` bytes of parameters to drop (CA imm16). */
function farReturn(cpu: Cpu, i: Insn, release: number): void {
  const size = i.opsize;
  const ip = truncate(stackValue(cpu, size, 0), size);
  const selector = peek(cpu, size, size) & 0xffff;
  if (realAddressing(cpu)) {
    if (ip > cpu.segLimit[CS]!) gp(0);
    adjustStack(cpu, 2 * size + release);
    loadRealCs(cpu, selector);
    cpu.nextIp = ip;
    cpu.stopBlock = true;
    return;
  }
  if ((selector & 0xfffc) === 0) gp(0);
  const d = readDescriptor(cpu, selector);
  const attr = descriptorAttr(d.hi);
  requireCode(cpu, selector, attr);
  const rpl = selector & 3;
  const dpl = attrDpl(attr);
  const cpl = cpu.cpl;
  if (rpl < cpl) fault(GP, selector & 0xfffc);
  if (attr & 4 ? dpl > rpl : dpl !== rpl) fault(GP, selector & 0xfffc);
  if (!(attr & ATTR_P)) fault(NP, selector & 0xfffc);
  if (rpl === cpl) {
    checkTarget(cpu, d, ip);
    adjustStack(cpu, 2 * size + release);
    loadCodeSegment(cpu, selector, d, rpl);
    cpu.nextIp = ip;
    cpu.stopBlock = true;
    return;
  }
  // To an outer privilege: the caller's SS:rSP lie above the return address and the released parameters.
  const sp = stackValue(cpu, size, 2 * size + release);
  const ssSelector = peek(cpu, size, 3 * size + release) & 0xffff;
  const toLong = cpu.longMode && (attr & ATTR_L) !== 0;
  const ssd = checkReturnSs(cpu, ssSelector, rpl, toLong && rpl !== 3);
  checkTarget(cpu, d, ip);
  loadCodeSegment(cpu, selector, d, rpl);
  loadSs(cpu, ssSelector, ssd, rpl);
  if (cpu.longMode) cpu.setRegNumber(RSP, truncate(sp, size));
  else setStackPointer(cpu, sp);
  adjustStack(cpu, release);
  nullInaccessibleSegments(cpu);
  cpu.nextIp = ip;
  cpu.stopBlock = true;
}
def(0xcb, (cpu, i) => farReturn(cpu, i, 0), true);
def(0xca, (cpu, i) => farReturn(cpu, i, i.imm & 0xffff), true);
