// Differential test of the block compiler: random short straight-line sequences of the instructions it writes
// out (ALU register/immediate/memory forms at 32 and 64 bits, TEST, INC/DEC, MOV loads/stores/immediates, LEA,
// MOVZX/MOVSX with every addressing form, Jcc with flags from written-out and handler-run operations), mixed with instructions
// that still run through their handlers, run once through the handlers alone and once as a compiled block.
// Registers, RIP, the lazy flag fields, EFLAGS, memory, retired counts and faults must all agree.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileBlock, isJcc } from "../src/accel/emu/block_compiler.js";
import type { Cpu } from "../src/accel/emu/cpu.js";
import { decode } from "../src/accel/emu/decoder.js";
import { FAULT } from "../src/accel/emu/fault.js";
import type { Insn } from "../src/accel/emu/insn.js";
import { CODE, makeCpu, step, type TestCpu } from "./helpers/emu_cpu.js";

const RAM = 0x20000;

/** A small deterministic generator (xorshift32), so a failure names a reproducible seed. */
class Rng {
  constructor(private s: number) {}
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.next() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

const EDGES = [0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** A register value: an edge, a random 32-bit value, or a random 64-bit one. */
function value(r: Rng, mode: number): bigint {
  const k = r.int(4);
  const lo = BigInt(k === 0 ? r.pick(EDGES) : r.next());
  if (mode !== 64 || k < 2) return lo;
  const hi = BigInt(k === 2 ? r.pick([0, 0xffffffff, 0x7fffffff, 0x80000000]) : r.next());
  return (hi << 32n) | lo;
}

const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/**
 * Registers that arithmetic may change; RSI and RDI stay pointers into RAM (never into the code, at CODE), RSP
 * is left alone.
 */
const DATA = [0, 1, 2, 3, 5];
// In 64-bit mode RBX is a base register too, holding a small or a non-canonical address (the harness has no
// paging there, so canonical negative addresses would not be RAM).
const DATA64 = [0, 1, 2, 5, 8, 9, 10, 11, 12, 13, 14, 15];
const ALU_ROWS = [0, 1, 2, 3, 4, 5, 6, 7];

/** One random instruction's bytes. */
function instruction(r: Rng, mode: number): number[] {
  const wide = mode === 64 && r.int(2) === 0;
  const regs = mode === 64 ? DATA64 : DATA;
  const d = r.pick(regs);
  const s = r.pick(regs);
  const imm32 = le32(r.int(3) === 0 ? r.pick(EDGES) : r.next());
  // An operand-size prefix (16-bit operands: run through the handlers) only where no immediate follows.
  let size16 = false;
  const prefix = (reg: number, rm: number, index = 0): number[] => {
    const rex = (wide ? 8 : 0) | (reg & 8 ? 4 : 0) | (index & 8 ? 2 : 0) | (rm & 8 ? 1 : 0);
    const p: number[] = [];
    if (size16) p.push(0x66);
    if (mode === 64 && rex) p.push(0x40 | rex);
    return p;
  };
  const modrmReg = (op: number[], reg: number, rm: number) => [
    ...prefix(reg, rm),
    ...op,
    0xc0 | ((reg & 7) << 3) | (rm & 7),
  ];
  /** op with a memory operand: [base+disp8], [base+index*scale+disp32], [disp32] (RIP-relative in 64-bit). */
  const modrmMem = (op: number[], reg: number): number[] => {
    const form = r.int(4);
    const pre = mode === 64 && r.int(8) === 0 ? [0x67] : [];
    if (form === 0) {
      const base = r.pick([6, 7]);
      return [...pre, ...prefix(reg, base), ...op, 0x40 | ((reg & 7) << 3) | base, r.int(256)];
    }
    if (form === 1) {
      const index = 7;
      const base = r.pick([6, 7]);
      const disp = le32(r.int(0x200) - 0x80);
      return [
        ...pre,
        ...prefix(reg, base, index),
        ...op,
        0x84 | ((reg & 7) << 3),
        (r.int(4) << 6) | (index << 3) | base,
        ...disp,
      ];
    }
    if (form === 2) {
      // [RBX + disp8]: RBX holds arbitrary values, so this one faults now and then (non-canonical, limits).
      return [...pre, ...prefix(reg, 3), ...op, 0x40 | ((reg & 7) << 3) | 3, r.int(256)];
    }
    return [...pre, ...prefix(reg, 0), ...op, ((reg & 7) << 3) | 5, ...le32(0x9000 + r.int(0x1000))];
  };
  const form = r.int(18);
  size16 = mode !== 64 && r.int(12) === 0 && [0, 1, 4, 7, 8, 9, 15, 16, 17].includes(form);
  switch (form) {
    case 0:
    case 1: {
      const row = r.pick(ALU_ROWS);
      return modrmReg([row * 8 + (r.int(2) ? 1 : 3)], s, d);
    }
    case 2: {
      const row = r.pick(ALU_ROWS);
      return [...prefix(0, 0), row * 8 + 5, ...imm32];
    }
    case 3: {
      const row = r.pick(ALU_ROWS);
      return r.int(2) ? [...modrmReg([0x81], row, d), ...imm32] : [...modrmReg([0x83], row, d), r.int(256)];
    }
    case 4:
      return modrmMem([r.pick(ALU_ROWS) * 8 + 3], d);
    case 5:
      switch (r.int(3)) {
        case 0:
          return modrmReg([0x85], s, d);
        case 1:
          return [...modrmReg([0xf7], 0, d), ...imm32];
        default:
          return [...prefix(0, 0), 0xa9, ...imm32];
      }
    case 6:
      if (mode !== 64 && r.int(2)) return [...prefix(0, 0), 0x40 + 8 * r.int(2) + d];
      return modrmReg([0xff], r.int(2), d);
    case 7:
      return modrmReg([r.pick([0x89, 0x8b])], s, d);
    case 8:
      return modrmMem([0x8b], d);
    case 9:
      return modrmMem([0x89], s);
    case 10:
      return r.int(2) ? [...modrmReg([0xc7], 0, d), ...imm32] : [...modrmMem([0xc7], 0), ...imm32];
    case 11:
      if (wide) return [...prefix(0, d), 0xb8 + (d & 7), ...imm32, ...le32(r.next())];
      return [...prefix(0, d), 0xb8 + (d & 7), ...imm32];
    case 12:
    case 13:
      // Jcc past the end of the code (rel8 or rel32): taken ends the sequence, not taken runs on.
      return r.int(2) ? [0x70 + r.int(16), 0x70] : [0x0f, 0x80 + r.int(16), ...le32(0x400)];
    case 16:
      return modrmMem([0x8d], d);
    case 17: {
      const op = [0x0f, r.pick([0xb6, 0xb7, 0xbe, 0xbf])];
      return r.int(2)
        ? modrmMem(op, d)
        : modrmReg(op, d, r.pick(mode === 64 ? [0, 1, 2, 3, 5, 6, 7, 12] : [0, 1, 2, 3, 5, 6, 7]));
    }
    case 14:
      // Handler-run instructions between written-out ones: CMC, STC/CLC, SETcc, NEG.
      return r.pick([[0xf5], [0xf9], [0xf8], modrmReg([0x0f, 0x90 + r.int(16)], 0, 0), modrmReg([0xf7], 3, d)]);
    default:
      return modrmReg([0x01 + 8 * r.pick([0, 5, 7])], s, d);
  }
}

interface Outcome {
  regs: bigint[];
  ip: number;
  eflags: number;
  lazy: number[];
  retired: number;
  fault: number;
  memory: Uint8Array;
}

function outcome(t: TestCpu, retired: number, fault: number): Outcome {
  const cpu = t.cpu;
  const f = cpu.flags;
  return {
    regs: Array.from({ length: 16 }, (_, k) => cpu.regBig(k)),
    ip: cpu.ip,
    eflags: cpu.getEflags(),
    lazy: [f.op, f.size, f.a, f.b, f.r, f.aHi, f.bHi, f.rHi, f.eager],
    retired,
    fault,
    memory: t.guest.slice(0, RAM).slice(),
  };
}

function setup(mode: 32 | 64, r: Rng, code: number[]): TestCpu {
  const t = makeCpu(mode, RAM);
  const cpu = t.cpu;
  const regs = mode === 64 ? 16 : 8;
  for (let k = 0; k < regs; k++) if (k !== 4) cpu.setRegBig(k, BigInt.asUintN(64, value(r, mode)));
  cpu.setRegBig(6, BigInt(0x6000 + r.int(0x800)));
  cpu.setRegBig(7, BigInt(0x80 + r.int(0x80)));
  if (mode === 64)
    cpu.setRegBig(3, r.int(4) === 0 ? 0x0000_8000_0000_0000n + BigInt(r.next()) : BigInt(0x2000 + r.int(RAM - 0x2100)));
  // Flags: eager bits, or the lazy state of a random earlier operation.
  cpu.setEflags(0x2 | (r.next() & 0x8d5));
  const fill = new Uint8Array(0x8000);
  for (let k = 0; k < fill.length; k++) fill[k] = r.next() & 0xff;
  t.guest.write(0x4000, fill);
  t.guest.write(CODE, Uint8Array.from(code));
  cpu.ip = CODE;
  return t;
}

/** Straight-line code: every instruction through its handler, stopping where RIP leaves the code. */
function viaHandlers(t: TestCpu, end: number, count: number): Outcome {
  let n = 0;
  let fault = -1;
  while (n < count && t.cpu.ip >= CODE && t.cpu.ip < end) {
    const v = step(t);
    if (v >= 0) {
      fault = v;
      break;
    }
    n++;
  }
  return outcome(t, n, fault);
}

/** The same code decoded as the run loop does (running on past Jcc) and run as one compiled block. */
function viaCompiler(t: TestCpu, end: number): Outcome {
  const cpu: Cpu = t.cpu;
  const insns: Insn[] = [];
  let ip = CODE;
  while (ip < end) {
    const i = decode((o) => cpu.mem.fetch8(o), ip, cpu.codeSize);
    insns.push(i);
    ip += i.len;
    if (i.endsBlock && !isJcc(i.op)) break;
  }
  const block = compileBlock(cpu, insns, cpu.codeSize);
  // Retired instructions before a fault are those RIP moved past.
  let fault = -1;
  let n = 0;
  try {
    n = block(cpu);
  } catch (e) {
    if (e !== FAULT) throw e;
    fault = FAULT.vector;
    let at = CODE;
    while (at < cpu.ip) at += insns[n++]!.len;
  }
  return outcome(t, n, fault);
}

function compare(mode: 32 | 64, seed: number): void {
  const r = new Rng(seed);
  const length = 1 + r.int(12);
  const code: number[] = [];
  for (let k = 0; k < length; k++) code.push(...instruction(r, mode));
  const stateSeed = r.next() | 1;
  const a = setup(mode, new Rng(stateSeed), code);
  const b = setup(mode, new Rng(stateSeed), code);
  const end = CODE + code.length;
  const want = viaHandlers(a, end, length);
  const got = viaCompiler(b, end);
  const where = `seed ${seed} (${mode}-bit): ${code.map((x) => x.toString(16).padStart(2, "0")).join(" ")}`;
  assert.deepEqual(got.regs, want.regs, `registers, ${where}`);
  assert.equal(got.ip, want.ip, `RIP, ${where}`);
  assert.equal(got.fault, want.fault, `fault, ${where}`);
  assert.equal(got.retired, want.retired, `retired, ${where}`);
  assert.equal(got.eflags, want.eflags, `EFLAGS, ${where}`);
  assert.deepEqual(got.lazy, want.lazy, `lazy flag fields, ${where}`);
  assert.ok(Buffer.from(got.memory).equals(Buffer.from(want.memory)), `memory, ${where}`);
}

describe("block compiler against the handlers", () => {
  for (const mode of [32, 64] as const) {
    test(`${mode}-bit: 3000 random sequences agree in registers, flags, RIP, memory and faults`, () => {
      for (let seed = 1; seed <= 3000; seed++) compare(mode, seed * 2654435761);
    });
  }
});
