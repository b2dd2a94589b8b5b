// The stack as the processor uses it: push and pop of 2, 4 or 8 bytes through SS with the stack pointer's
// width (SS.B, or 64 bits in 64-bit mode). The memory write happens before RSP changes, so a faulting push
// leaves RSP as it was.
import { type Cpu, RSP, SS } from "./cpu.js";

function stackPointer(cpu: Cpu): number {
  const s = cpu.stackSize;
  return s === 8 ? cpu.regNumber(RSP) : s === 4 ? cpu.lo[RSP]! >>> 0 : cpu.lo[RSP]! & 0xffff;
}

function setStackPointer(cpu: Cpu, v: number): void {
  const s = cpu.stackSize;
  if (s === 8) cpu.setRegNumber(RSP, v);
  else if (s === 4) cpu.lo[RSP] = v;
  else cpu.lo[RSP] = (cpu.lo[RSP]! & ~0xffff) | (v & 0xffff);
}

function wrap(cpu: Cpu, v: number): number {
  const s = cpu.stackSize;
  return s === 8 ? v : s === 4 ? v >>> 0 : v & 0xffff;
}

/** Pushes `size` bytes (value lo, and hi for 8). */
export function push(cpu: Cpu, size: number, v: number, hi = 0): void {
  const sp = wrap(cpu, stackPointer(cpu) - size);
  const lin = cpu.mem.linear(SS, sp, size);
  const m = cpu.mem;
  if (size === 2) m.write16(lin, v);
  else if (size === 4) m.write32(lin, v);
  else m.write64(lin, v, hi);
  setStackPointer(cpu, sp);
}

/** Reads the value `depth` bytes above the stack pointer without popping (size 8: high half in cpu.vHi). */
export function peek(cpu: Cpu, size: number, depth = 0): number {
  const sp = wrap(cpu, stackPointer(cpu) + depth);
  const lin = cpu.mem.linear(SS, sp, size);
  const m = cpu.mem;
  if (size === 2) return m.read16(lin);
  if (size === 4) return m.read32(lin) >>> 0;
  return m.read64(lin) >>> 0;
}

/** Pops `size` bytes; the high half of an 8-byte pop is in cpu.vHi. */
export function pop(cpu: Cpu, size: number): number {
  const v = peek(cpu, size);
  const hi = cpu.vHi;
  setStackPointer(cpu, wrap(cpu, stackPointer(cpu) + size));
  cpu.vHi = hi;
  return v;
}

/** Moves the stack pointer by `delta` bytes (RET imm16, ENTER, LEAVE). */
export function adjustStack(cpu: Cpu, delta: number): void {
  setStackPointer(cpu, wrap(cpu, stackPointer(cpu) + delta));
}

export { setStackPointer, stackPointer };
