// String instructions: MOVS, CMPS, STOS, LODS, SCAS (A4-A7, AA-AF) and INS/OUTS (6C-6F), with REP, REPE and
// REPNE (Intel SDM vol. 2, "MOVS", "CMPS", "SCAS", "LODS", "STOS", "INS", "OUTS", "REP/REPE/REPZ/REPNE/REPNZ").
//
// The source is seg:rSI (DS unless overridden), the destination always ES:rDI; the address size picks SI/ESI/RSI,
// DI/EDI/RDI and CX/ECX/RCX; DF picks the direction. A repeated instruction runs a bounded slice of its
// iterations per execution and then leaves RIP on itself (and ends the block), so the run loop sees host
// requests and interrupts between slices, as the processor takes interrupts between iterations. Registers are
// written back in a `finally`: a fault in iteration k leaves rCX/rSI/rDI as k completed iterations left them.
// With TF set (or the host single-stepping) a slice is one iteration: the processor traps after each one.
// REP MOVS/STOS and REPE/REPNE CMPSB/SCASB with DF = 0 over RAM work a page at a time.
import type { GuestMemory } from "../../../memory/guest_memory.js";
import type { Cpu } from "../cpu.js";
import { ES, RAX, RCX, RDI, RDX, RSI } from "../cpu.js";
import { DF, TF } from "../flags.js";
import type { Insn } from "../insn.js";
import { def } from "../opcodes.js";
import { readMem, readReg, writeMem, writeReg } from "../operands.js";
import { alu, alu64, CMP } from "./arith.js";
import { checkIo } from "./system.js";

/** Work units per execution of a repeated instruction: a slow iteration costs SLOW_COST, a fast byte 1. */
const BUDGET = 65536;
const SLOW_COST = 16;

// ---- registers by address size ----

function index(cpu: Cpu, r: number, ad: number): number {
  return ad === 2 ? cpu.lo[r]! & 0xffff : ad === 4 ? cpu.lo[r]! >>> 0 : cpu.regNumber(r);
}

function setIndex(cpu: Cpu, r: number, ad: number, v: number): void {
  if (ad === 2) cpu.lo[r] = (cpu.lo[r]! & ~0xffff) | (v & 0xffff);
  else if (ad === 4) {
    cpu.lo[r] = v;
    cpu.hi[r] = 0;
  } else cpu.setRegNumber(r, v);
}

function wrap(v: number, ad: number): number {
  return ad === 2 ? v & 0xffff : ad === 4 ? v >>> 0 : v;
}

/** The count register as a number (approximate above 2^53, which only ever compares as "large"). */
function count(cpu: Cpu, ad: number): number {
  if (ad === 2) return cpu.lo[RCX]! & 0xffff;
  if (ad === 4) return cpu.lo[RCX]! >>> 0;
  return (cpu.hi[RCX]! >>> 0) * 4294967296 + (cpu.lo[RCX]! >>> 0);
}

/** rCX -= done, exactly (done is small). */
function subCount(cpu: Cpu, ad: number, done: number): void {
  if (done === 0) return;
  const lo = cpu.lo[RCX]!;
  if (ad === 2) cpu.lo[RCX] = (lo & ~0xffff) | ((lo - done) & 0xffff);
  else if (ad === 4) {
    cpu.lo[RCX] = (lo >>> 0) - done;
    cpu.hi[RCX] = 0;
  } else {
    const l = (lo >>> 0) - done;
    cpu.lo[RCX] = l;
    if (l < 0) cpu.hi[RCX] = cpu.hi[RCX]! - 1;
  }
}

/**
 * The work allowed in this execution. Single-stepping (TF, or the host's debugger) runs one iteration per
 * step, as the processor traps after each iteration of a repeated string instruction.
 */
function repBudget(cpu: Cpu): number {
  return cpu.eflags & TF || cpu.singleStep ? 1 : BUDGET;
}

/** The instruction did not finish its repetitions: run it again after the run loop has looked around. */
function again(cpu: Cpu): void {
  cpu.nextIp = cpu.ip;
  cpu.stopBlock = true;
}

const step = (cpu: Cpu, size: number) => (cpu.eflags & DF ? -size : size);

// ---- RAM for the fast paths ----

class Ram {
  constructor(
    readonly bytes: Uint8Array,
    readonly view: DataView,
  ) {}
}
const rams = new WeakMap<GuestMemory, Ram>();

function ramOf(cpu: Cpu): Ram {
  const guest = cpu.mem.guest;
  let ram = rams.get(guest);
  if (!ram) {
    const low = guest.regions.find((r) => r.gpa === 0);
    const bytes = low ? low.bytes : new Uint8Array(0);
    ram = new Ram(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    rams.set(guest, ram);
  }
  return ram;
}

/**
 * How many elements of `size` bytes from offsets `a` and `b` (ascending) stay within one page at both linear
 * addresses and do not wrap either offset at the address size.
 */
function chunkElements(size: number, linA: number, linB: number, a: number, b: number, ad: number): number {
  let room = Math.min(4096 - (linA & 0xfff), 4096 - (linB & 0xfff));
  if (ad !== 8) {
    const top = ad === 2 ? 0x10000 : 4294967296;
    room = Math.min(room, top - a, top - b);
  }
  return Math.floor(room / size);
}

// ---- MOVS ----

function movs(cpu: Cpu, i: Insn, size: number): void {
  const ad = i.adsize;
  const mem = cpu.mem;
  const d = step(cpu, size);
  if (!i.rep) {
    const si = index(cpu, RSI, ad);
    const di = index(cpu, RDI, ad);
    const v = readMem(cpu, mem.linear(i.seg, si, size), size);
    writeMem(cpu, mem.linear(ES, di, size), size, v, cpu.vHi);
    setIndex(cpu, RSI, ad, wrap(si + d, ad));
    setIndex(cpu, RDI, ad, wrap(di + d, ad));
    return;
  }
  const n = count(cpu, ad);
  if (n === 0) return;
  let si = index(cpu, RSI, ad);
  let di = index(cpu, RDI, ad);
  let done = 0;
  let budget = repBudget(cpu);
  try {
    while (done < n && budget > 0) {
      const src = mem.linear(i.seg, si, size);
      const dst = mem.linear(ES, di, size);
      if (d > 0) {
        const k = Math.min(n - done, chunkElements(size, src, dst, si, di, ad), budget);
        if (k > 1 && fastCopy(cpu, i, size, src, dst, si, di, k)) {
          done += k;
          si = wrap(si + k * size, ad);
          di = wrap(di + k * size, ad);
          budget -= k * size;
          continue;
        }
      }
      const v = readMem(cpu, src, size);
      writeMem(cpu, dst, size, v, cpu.vHi);
      done++;
      si = wrap(si + d, ad);
      di = wrap(di + d, ad);
      budget -= SLOW_COST;
      if (mem.deviceStop) break;
    }
  } finally {
    setIndex(cpu, RSI, ad, si);
    setIndex(cpu, RDI, ad, di);
    subCount(cpu, ad, done);
  }
  if (done < n) again(cpu);
}

/** Copies k elements within RAM when both runs are in RAM and do not overlap forward; false otherwise. */
function fastCopy(
  cpu: Cpu,
  i: Insn,
  size: number,
  src: number,
  dst: number,
  si: number,
  di: number,
  k: number,
): boolean {
  const mem = cpu.mem;
  const bytes = k * size;
  // Segment limits over the whole run (an element past the limit takes the slow path and faults there).
  if (!fitsSegment(cpu, i.seg, si, bytes) || !fitsSegment(cpu, ES, di, bytes)) return false;
  const ps = mem.translateRead(src);
  const pd = mem.translateWrite(dst);
  const ram = ramOf(cpu);
  const limit = ram.bytes.length;
  if (ps + bytes > limit || pd + bytes > limit) return false;
  // A forward copy onto itself a little further on replicates a pattern: element by element.
  if (pd > ps && pd < ps + bytes) return false;
  if (mem.codePages[pd >>> 12]) mem.onCodeWrite(pd);
  ram.bytes.copyWithin(pd, ps, ps + bytes);
  return true;
}

/** Whether `bytes` bytes at `offset` pass the segment's checks (the slow path faults where they do not). */
function fitsSegment(cpu: Cpu, seg: number, offset: number, bytes: number): boolean {
  if (cpu.codeSize === 8) return true; // canonical: each page's first element was checked
  const attr = cpu.segAttr[seg]!;
  // Expand-down and unusable segments: element by element.
  if ((attr & 0x1c) === 0x14 || attr & (1 << 16)) return false;
  return offset + bytes - 1 <= cpu.segLimit[seg]!;
}

// ---- STOS ----

function stos(cpu: Cpu, i: Insn, size: number): void {
  const ad = i.adsize;
  const mem = cpu.mem;
  const d = step(cpu, size);
  const v = readReg(cpu, i, RAX, size);
  const vHi = cpu.vHi;
  if (!i.rep) {
    const di = index(cpu, RDI, ad);
    writeMem(cpu, mem.linear(ES, di, size), size, v, vHi);
    setIndex(cpu, RDI, ad, wrap(di + d, ad));
    return;
  }
  const n = count(cpu, ad);
  if (n === 0) return;
  let di = index(cpu, RDI, ad);
  let done = 0;
  let budget = repBudget(cpu);
  try {
    while (done < n && budget > 0) {
      const dst = mem.linear(ES, di, size);
      if (d > 0) {
        const k = Math.min(n - done, chunkElements(size, dst, dst, di, di, ad), budget);
        if (k > 1 && fastFill(cpu, size, dst, di, k, v, vHi)) {
          done += k;
          di = wrap(di + k * size, ad);
          budget -= k * size;
          continue;
        }
      }
      writeMem(cpu, dst, size, v, vHi);
      done++;
      di = wrap(di + d, ad);
      budget -= SLOW_COST;
      if (mem.deviceStop) break;
    }
  } finally {
    setIndex(cpu, RDI, ad, di);
    subCount(cpu, ad, done);
  }
  if (done < n) again(cpu);
}

function fastFill(cpu: Cpu, size: number, dst: number, di: number, k: number, v: number, vHi: number): boolean {
  const mem = cpu.mem;
  const bytes = k * size;
  if (!fitsSegment(cpu, ES, di, bytes)) return false;
  const pd = mem.translateWrite(dst);
  const ram = ramOf(cpu);
  if (pd + bytes > ram.bytes.length) return false;
  if (mem.codePages[pd >>> 12]) mem.onCodeWrite(pd);
  const b = v & 0xff;
  const uniform =
    size === 1 ||
    (size === 2 && (v & 0xffff) === b * 0x101) ||
    (size >= 4 && (v | 0) === (b * 0x01010101) >> 0 && (size === 4 || (vHi | 0) === (v | 0)));
  if (uniform) {
    ram.bytes.fill(b, pd, pd + bytes);
    return true;
  }
  const view = ram.view;
  for (let p = pd, end = pd + bytes; p < end; p += size) {
    if (size === 2) view.setUint16(p, v, true);
    else if (size === 4) view.setInt32(p, v, true);
    else {
      view.setInt32(p, v, true);
      view.setInt32(p + 4, vHi, true);
    }
  }
  return true;
}

// ---- LODS ----

function lods(cpu: Cpu, i: Insn, size: number): void {
  const ad = i.adsize;
  const mem = cpu.mem;
  const d = step(cpu, size);
  if (!i.rep) {
    const si = index(cpu, RSI, ad);
    const v = readMem(cpu, mem.linear(i.seg, si, size), size);
    writeReg(cpu, i, RAX, size, v, cpu.vHi);
    setIndex(cpu, RSI, ad, wrap(si + d, ad));
    return;
  }
  const n = count(cpu, ad);
  if (n === 0) return;
  let si = index(cpu, RSI, ad);
  let done = 0;
  let budget = repBudget(cpu);
  try {
    while (done < n && budget > 0) {
      const v = readMem(cpu, mem.linear(i.seg, si, size), size);
      writeReg(cpu, i, RAX, size, v, cpu.vHi);
      done++;
      si = wrap(si + d, ad);
      budget -= SLOW_COST;
      if (mem.deviceStop) break;
    }
  } finally {
    setIndex(cpu, RSI, ad, si);
    subCount(cpu, ad, done);
  }
  if (done < n) again(cpu);
}

// ---- CMPS, SCAS ----

/** Compares a (first operand) with b, sets the flags as CMP does, returns whether they were equal. */
function compare(cpu: Cpu, size: number, a: number, aHi: number, b: number, bHi: number): boolean {
  if (size === 8) {
    alu64(cpu, CMP, a, aHi, b, bHi);
    return a === b && aHi === bHi;
  }
  alu(cpu, CMP, size, a, b);
  return a === b;
}

/** REPE stops when the operands differ, REPNE when they are equal. */
function stops(i: Insn, equal: boolean): boolean {
  return i.rep === 0xf3 ? !equal : equal;
}

function cmps(cpu: Cpu, i: Insn, size: number): void {
  const ad = i.adsize;
  const mem = cpu.mem;
  const d = step(cpu, size);
  const n = i.rep ? count(cpu, ad) : 1;
  if (n === 0) return;
  let si = index(cpu, RSI, ad);
  let di = index(cpu, RDI, ad);
  let done = 0;
  let budget = i.rep ? repBudget(cpu) : 1;
  let finished = false;
  try {
    while (done < n && budget > 0) {
      if (size === 1 && d > 0 && i.rep) {
        // Byte compares within one page of RAM on both sides: scan the bytes directly.
        const src = mem.linear(i.seg, si, 1);
        const dst = mem.linear(ES, di, 1);
        const k = Math.min(n - done, chunkElements(1, src, dst, si, di, ad), budget);
        if (k > 1) {
          const m = fastCompare(cpu, i, src, dst, si, di, k);
          if (m > 0) {
            done += m;
            si = wrap(si + m, ad);
            di = wrap(di + m, ad);
            budget -= m;
            if (lastStops) {
              finished = true;
              break;
            }
            continue;
          }
        }
      }
      const a = readMem(cpu, mem.linear(i.seg, si, size), size);
      const aHi = cpu.vHi;
      const b = readMem(cpu, mem.linear(ES, di, size), size);
      const equal = compare(cpu, size, a, aHi, b, cpu.vHi);
      done++;
      si = wrap(si + d, ad);
      di = wrap(di + d, ad);
      budget -= SLOW_COST;
      if (i.rep && stops(i, equal)) {
        finished = true;
        break;
      }
      if (mem.deviceStop) break;
    }
  } finally {
    setIndex(cpu, RSI, ad, si);
    setIndex(cpu, RDI, ad, di);
    if (i.rep) subCount(cpu, ad, done);
  }
  if (i.rep && !finished && done < n) again(cpu);
}

function scas(cpu: Cpu, i: Insn, size: number): void {
  const ad = i.adsize;
  const mem = cpu.mem;
  const d = step(cpu, size);
  const n = i.rep ? count(cpu, ad) : 1;
  if (n === 0) return;
  const a = readReg(cpu, i, RAX, size);
  const aHi = cpu.vHi;
  let di = index(cpu, RDI, ad);
  let done = 0;
  let budget = i.rep ? repBudget(cpu) : 1;
  let finished = false;
  try {
    while (done < n && budget > 0) {
      if (size === 1 && d > 0 && i.rep) {
        const dst = mem.linear(ES, di, 1);
        const k = Math.min(n - done, chunkElements(1, dst, dst, di, di, ad), budget);
        if (k > 1) {
          const m = fastScan(cpu, i, dst, di, k, a);
          if (m > 0) {
            done += m;
            di = wrap(di + m, ad);
            budget -= m;
            if (lastStops) {
              finished = true;
              break;
            }
            continue;
          }
        }
      }
      const b = readMem(cpu, mem.linear(ES, di, size), size);
      const equal = compare(cpu, size, a, aHi, b, cpu.vHi);
      done++;
      di = wrap(di + d, ad);
      budget -= SLOW_COST;
      if (i.rep && stops(i, equal)) {
        finished = true;
        break;
      }
      if (mem.deviceStop) break;
    }
  } finally {
    setIndex(cpu, RDI, ad, di);
    if (i.rep) subCount(cpu, ad, done);
  }
  if (i.rep && !finished && done < n) again(cpu);
}

/** Whether the last fast compare or scan ended on the element that stops the repetition. */
let lastStops = false;

/**
 * REPE/REPNE CMPSB over up to k bytes of RAM: compares until the repetition stops or k bytes are done, sets
 * the flags of the last compare, returns how many bytes were compared (0: not RAM, take the slow path).
 */
function fastCompare(cpu: Cpu, i: Insn, src: number, dst: number, si: number, di: number, k: number): number {
  if (!fitsSegment(cpu, i.seg, si, k) || !fitsSegment(cpu, ES, di, k)) return 0;
  const ps = cpu.mem.translateRead(src);
  const pd = cpu.mem.translateRead(dst);
  const bytes = ramOf(cpu).bytes;
  if (ps + k > bytes.length || pd + k > bytes.length) return 0;
  const untilEqual = i.rep === 0xf2;
  let m = 0;
  let a = 0;
  let b = 0;
  while (m < k) {
    a = bytes[ps + m]!;
    b = bytes[pd + m]!;
    m++;
    if ((a === b) === untilEqual) break;
  }
  lastStops = (a === b) === untilEqual;
  alu(cpu, CMP, 1, a, b);
  return m;
}

/** REPE/REPNE SCASB over up to k bytes of RAM, as fastCompare. */
function fastScan(cpu: Cpu, i: Insn, dst: number, di: number, k: number, al: number): number {
  if (!fitsSegment(cpu, ES, di, k)) return 0;
  const pd = cpu.mem.translateRead(dst);
  const bytes = ramOf(cpu).bytes;
  if (pd + k > bytes.length) return 0;
  const untilEqual = i.rep === 0xf2;
  let m = 0;
  let b = 0;
  while (m < k) {
    b = bytes[pd + m]!;
    m++;
    if ((al === b) === untilEqual) break;
  }
  lastStops = (al === b) === untilEqual;
  alu(cpu, CMP, 1, al, b);
  return m;
}

// ---- INS, OUTS ----

const ioSize = (i: Insn, byte: boolean) => (byte ? 1 : i.opsize === 2 ? 2 : 4);

function ins(cpu: Cpu, i: Insn, size: number): void {
  const ad = i.adsize;
  const mem = cpu.mem;
  const d = step(cpu, size);
  const n = i.rep ? count(cpu, ad) : 1;
  if (n === 0) return;
  const port = cpu.lo[RDX]! & 0xffff;
  checkIo(cpu, port, size);
  let di = index(cpu, RDI, ad);
  let done = 0;
  let budget = i.rep ? repBudget(cpu) : 1;
  try {
    while (done < n && budget > 0) {
      const dst = mem.linear(ES, di, size);
      // The destination is checked before the port is read: a fault does not lose a read's side effects.
      mem.probeWrite(dst, size);
      writeMem(cpu, dst, size, cpu.io.read(port, size));
      done++;
      di = wrap(di + d, ad);
      budget -= SLOW_COST;
      if (cpu.io.deviceStop || mem.deviceStop) break;
    }
  } finally {
    setIndex(cpu, RDI, ad, di);
    if (i.rep) subCount(cpu, ad, done);
  }
  if (cpu.io.deviceStop) cpu.stopBlock = true;
  if (i.rep && done < n) again(cpu);
}

function outs(cpu: Cpu, i: Insn, size: number): void {
  const ad = i.adsize;
  const mem = cpu.mem;
  const d = step(cpu, size);
  const n = i.rep ? count(cpu, ad) : 1;
  if (n === 0) return;
  const port = cpu.lo[RDX]! & 0xffff;
  checkIo(cpu, port, size);
  let si = index(cpu, RSI, ad);
  let done = 0;
  let budget = i.rep ? repBudget(cpu) : 1;
  try {
    while (done < n && budget > 0) {
      const v = readMem(cpu, mem.linear(i.seg, si, size), size);
      cpu.io.write(port, size, v);
      done++;
      si = wrap(si + d, ad);
      budget -= SLOW_COST;
      if (cpu.io.deviceStop || mem.deviceStop) break;
    }
  } finally {
    setIndex(cpu, RSI, ad, si);
    if (i.rep) subCount(cpu, ad, done);
  }
  if (cpu.io.deviceStop) cpu.stopBlock = true;
  if (i.rep && done < n) again(cpu);
}

// Byte forms on even opcodes, operand-size forms on odd ones.
def(0xa4, (cpu, i) => movs(cpu, i, 1));
def(0xa5, (cpu, i) => movs(cpu, i, i.opsize));
def(0xa6, (cpu, i) => cmps(cpu, i, 1));
def(0xa7, (cpu, i) => cmps(cpu, i, i.opsize));
def(0xaa, (cpu, i) => stos(cpu, i, 1));
def(0xab, (cpu, i) => stos(cpu, i, i.opsize));
def(0xac, (cpu, i) => lods(cpu, i, 1));
def(0xad, (cpu, i) => lods(cpu, i, i.opsize));
def(0xae, (cpu, i) => scas(cpu, i, 1));
def(0xaf, (cpu, i) => scas(cpu, i, i.opsize));
def(0x6c, (cpu, i) => ins(cpu, i, ioSize(i, true)));
def(0x6d, (cpu, i) => ins(cpu, i, ioSize(i, false)));
def(0x6e, (cpu, i) => outs(cpu, i, ioSize(i, true)));
def(0x6f, (cpu, i) => outs(cpu, i, ioSize(i, false)));
