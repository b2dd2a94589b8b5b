// The differential CPU fuzzer's core: one case run on tsvmm's emulator (a Cpu built as test/helpers/emu_cpu.ts
// builds it, flat segments, the bytes executed one instruction at a time) and on unicorn, the states compared
// (every GPR, RIP, the defined status flags and DF, the exception raised, all of memory), and a mismatch
// minimised to one instruction and a simple state, printed as a regression test.
import type { Cpu } from "../src/accel/emu/cpu.js";
import { decode } from "../src/accel/emu/decoder.js";
import { FAULT } from "../src/accel/emu/fault.js";
import type { GuestMemory } from "../src/memory/guest_memory.js";
import { makeCpu } from "../test/helpers/emu_cpu.js";
import { type Case, CODE, codeLength, initialMemory, MEM_SIZE } from "./generator.js";
import {
  definedFlags,
  readsFlags,
  referenceDiffers,
  referenceWrongFlags,
  SKIP,
  STATUS,
  undefinedFlags,
} from "./undefined_flags.js";
import {
  type Mode,
  UC_ERR_EXCEPTION,
  UC_ERR_FETCH_UNMAPPED,
  UC_ERR_INSN_INVALID,
  UC_ERR_OK,
  UC_ERR_READ_UNMAPPED,
  UC_ERR_WRITE_UNMAPPED,
  Unicorn,
} from "./unicorn.js";

const DF = 0x400;

let imageCase: Case | undefined;
const image = new Uint8Array(MEM_SIZE);
/** The case's initial memory, computed once for both CPUs (read-only). */
function imageOf(c: Case): Uint8Array {
  if (imageCase !== c) {
    initialMemory(c, image);
    imageCase = c;
  }
  return image;
}

/** A CPU's state after a case. */
export interface Outcome {
  regs: bigint[];
  ip: number;
  flags: number;
  /** The exception raised (-1: none). */
  vector: number;
  mem: Uint8Array;
}

export interface EmuOutcome extends Outcome {
  /** Status flags left undefined (not compared). */
  undef: number;
  /** Set when the case is not comparable, saying why. */
  skip?: string;
}

const nregs = (mode: Mode) => (mode === 64 ? 16 : 8);
const low = (mode: Mode, v: bigint) => (mode === 64 ? v : v & 0xffff_ffffn);

/** tsvmm's emulator in one mode, reused from case to case. */
export class EmuTarget {
  readonly cpu: Cpu;
  private readonly guest: GuestMemory;
  private readonly ram: Uint8Array;
  /** The flat segments, restored before each case (a case that ends in control transferred elsewhere must
   *  not leave its CS behind for the next). */
  private readonly segments: ArrayLike<number>[];
  /** Filled before each instruction when set (the minimiser's snapshots). */
  snapshots: { regs: bigint[]; flags: number }[] | undefined;

  constructor(readonly mode: Mode) {
    const t = makeCpu(mode, MEM_SIZE);
    this.cpu = t.cpu;
    this.guest = t.guest;
    this.ram = t.guest.slice(0, MEM_SIZE);
    this.segments = [
      this.cpu.segSel.slice(),
      this.cpu.segBase.slice(),
      this.cpu.segLimit.slice(),
      this.cpu.segAttr.slice(),
    ];
    // Accesses outside the 64 KiB are counted (reads see 0xff): unicorn reports them as unmapped.
    this.cpu.mem.sink = {
      bus: { read: (_s: string, _a: number, data: Uint8Array) => data.fill(0xff), write: () => {} } as never,
      onAccess: undefined,
      afterAccess: () => false,
    };
  }

  run(c: Case): EmuOutcome {
    const cpu = this.cpu;
    const mode = this.mode;
    this.guest.write(0, imageOf(c));
    for (let r = 0; r < 16; r++) cpu.setRegBig(r, low(mode, c.regs[r]!));
    cpu.setEflags(c.flags);
    cpu.segSel.set(this.segments[0]!);
    cpu.segBase.set(this.segments[1]!);
    cpu.segLimit.set(this.segments[2]!);
    cpu.segAttr.set(this.segments[3]!);
    cpu.updateMode();
    cpu.halted = false;
    cpu.ip = CODE;
    const end = CODE + codeLength(c);
    let undef = 0;
    let vector = -1;
    let skip: string | undefined;
    let steps = 0;
    const outside = cpu.mem.mmioAccesses;
    const fetch = (o: number) => cpu.mem.fetch8(o);
    try {
      while (cpu.ip !== end) {
        if (steps++ >= 64 || cpu.ip < CODE || cpu.ip > end) {
          skip = "control left the code";
          break;
        }
        const i = decode(fetch, cpu.ip, cpu.codeSize);
        const u = undefinedFlags(cpu, i);
        if (u === SKIP) {
          skip = "the SDM leaves the result undefined";
          break;
        }
        const next = cpu.ip + i.len;
        cpu.nextIp = cpu.codeSize === 8 ? next : cpu.codeSize === 4 ? next >>> 0 : next & 0xffff;
        const differs = referenceDiffers(cpu, i);
        if (differs) {
          skip = differs;
          break;
        }
        if (undef !== 0 && readsFlags(i)) {
          skip = "an instruction reads undefined flags";
          break;
        }
        this.snapshots?.push({ regs: this.regs(), flags: cpu.getEflags() });
        cpu.stopBlock = false;
        i.exec(cpu, i);
        cpu.ip = cpu.nextIp;
        undef = (undef & ~definedFlags(i)) | u | referenceWrongFlags(i);
      }
    } catch (e) {
      if (e instanceof RangeError) {
        // A 64-bit linear address above RAM's DataView with paging off (only this harness runs 64-bit code
        // without paging; unicorn reports such an access as unmapped).
        skip = "an access outside RAM";
      } else if (e !== FAULT) throw e;
      vector = FAULT.vector;
    }
    if (!skip && cpu.mem.mmioAccesses !== outside) skip = "an access outside RAM";
    if (!skip) {
      const img = imageOf(c);
      for (let a = CODE; a < end; a++) {
        if (this.ram[a] !== img[a]) {
          skip = "the code modified itself";
          break;
        }
      }
    }
    return { regs: this.regs(), ip: cpu.ip, flags: cpu.getEflags(), vector, mem: this.ram, undef, skip };
  }

  private regs(): bigint[] {
    const out: bigint[] = [];
    for (let r = 0; r < nregs(this.mode); r++) out.push(low(this.mode, this.cpu.regBig(r)));
    return out;
  }
}

/** unicorn in one mode, reused from case to case. */
export class UnicornTarget {
  private readonly uc: Unicorn;
  private readonly mem = new Uint8Array(MEM_SIZE);

  constructor(readonly mode: Mode) {
    this.uc = new Unicorn(mode, MEM_SIZE);
    this.uc.zeroSegmentBases();
  }

  /** The outcome, or a string saying why the case is not comparable. */
  run(c: Case): Outcome | string {
    const uc = this.uc;
    uc.writeMem(0, imageOf(c));
    for (let r = 0; r < nregs(this.mode); r++) uc.setReg(r, c.regs[r]!);
    uc.setFlags(c.flags);
    const r = uc.run(CODE, CODE + codeLength(c));
    if (r.error === UC_ERR_READ_UNMAPPED || r.error === UC_ERR_WRITE_UNMAPPED || r.error === UC_ERR_FETCH_UNMAPPED) {
      return "unicorn: an access outside the mapped 64 KiB";
    }
    if (r.error !== UC_ERR_OK && r.error !== UC_ERR_INSN_INVALID && r.error !== UC_ERR_EXCEPTION) {
      return `unicorn: error ${r.error}`;
    }
    const regs: bigint[] = [];
    for (let k = 0; k < nregs(this.mode); k++) regs.push(uc.getReg(k));
    uc.readMem(0, this.mem);
    const out = { regs, ip: uc.getIp(), flags: uc.getFlags(), vector: r.vector, mem: this.mem };
    // The exception was not delivered (the hook stopped the run), so QEMU still remembers it and would turn
    // the next contributory fault into #DF: back to the CPU state saved at creation.
    if (r.vector >= 0) uc.resetCpu();
    return out;
  }

  close(): void {
    this.uc.close();
  }
}

const NAMES = [
  "rax",
  "rcx",
  "rdx",
  "rbx",
  "rsp",
  "rbp",
  "rsi",
  "rdi",
  "r8",
  "r9",
  "r10",
  "r11",
  "r12",
  "r13",
  "r14",
  "r15",
];
const hex = (v: bigint | number) => `0x${v.toString(16)}`;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const wa = new Float64Array(a.buffer, a.byteOffset, a.length / 8);
  const wb = new Float64Array(b.buffer, b.byteOffset, b.length / 8);
  // Float64 compare would equate 0 and -0 and never NaNs: compare as integers.
  const ia = new Int32Array(wa.buffer, wa.byteOffset, a.length / 4);
  const ib = new Int32Array(wb.buffer, wb.byteOffset, b.length / 4);
  for (let k = 0; k < ia.length; k++) if (ia[k] !== ib[k]) return false;
  return true;
}

/** The first difference between the emulator's outcome and the reference's, or undefined. */
export function compare(e: EmuOutcome, ref: Outcome): string | undefined {
  if (e.vector !== ref.vector) return `exception: emulator ${e.vector}, reference ${ref.vector}`;
  const diffs: string[] = [];
  for (let r = 0; r < e.regs.length; r++) {
    if (e.regs[r] !== ref.regs[r])
      diffs.push(`${NAMES[r]}: emulator ${hex(e.regs[r]!)}, reference ${hex(ref.regs[r]!)}`);
  }
  if (e.ip !== ref.ip) diffs.push(`rip: emulator ${hex(e.ip)}, reference ${hex(ref.ip)}`);
  const m = (STATUS | DF) & ~e.undef;
  if ((e.flags ^ ref.flags) & m) {
    diffs.push(`flags (mask ${hex(m)}): emulator ${hex(e.flags & m)}, reference ${hex(ref.flags & m)}`);
  }
  if (!sameBytes(e.mem, ref.mem)) {
    let a = 0;
    while (e.mem[a] === ref.mem[a]) a++;
    diffs.push(`memory at ${hex(a)}: emulator ${hex(e.mem[a]!)}, reference ${hex(ref.mem[a]!)}`);
  }
  return diffs.length ? diffs.join("; ") : undefined;
}

export type Verdict = { kind: "ok" } | { kind: "skip"; why: string } | { kind: "mismatch"; detail: string };

/** Runs one case on both and compares. */
export function check(c: Case, emu: EmuTarget, ref: UnicornTarget): Verdict {
  const e = emu.run(c);
  if (e.skip) return { kind: "skip", why: e.skip };
  if (TRACE) process.stderr.write(`${c.mode} ${c.insns.map(bytesHex).join(" | ")}\n`);
  const r = ref.run(c);
  if (typeof r === "string") return { kind: "skip", why: r };
  const detail = compare(e, r);
  return detail ? { kind: "mismatch", detail } : { kind: "ok" };
}

const TRACE = process.env.FUZZ_TRACE === "1";

const REL8 = (b: number) => (b >= 0x70 && b <= 0x7f) || b === 0xeb || (b >= 0xe0 && b <= 0xe3);

/** One instruction alone: a relative branch's displacement becomes 0 (its target the end). */
function alone(insn: number[]): number[] {
  const out = insn.slice();
  const op = out.findIndex((b) => b === 0x0f || REL8(b) || b === 0xe8 || b === 0xe9);
  if (op < 0) return out;
  const b = out[op]!;
  const jcc32 = b === 0x0f && out[op + 1]! >= 0x80 && out[op + 1]! <= 0x8f;
  if (REL8(b) && op === out.length - 2) out[op + 1] = 0;
  else if (b === 0xe8 || b === 0xe9 || jcc32) for (let k = jcc32 ? op + 2 : op + 1; k < out.length; k++) out[k] = 0;
  return out;
}

/** Shrinks a failing case: one instruction if one fails alone, then the simplest registers, flags and memory. */
export function minimise(c: Case, emu: EmuTarget, ref: UnicornTarget): Case {
  const fails = (x: Case) => check(x, emu, ref).kind === "mismatch";
  let best = c;
  emu.snapshots = [];
  emu.run(c);
  const snaps = emu.snapshots;
  emu.snapshots = undefined;
  for (let k = 0; k < c.insns.length && k < snaps.length; k++) {
    const s = snaps[k]!;
    const regs = c.regs.slice();
    for (let r = 0; r < s.regs.length; r++) regs[r] = s.regs[r]!;
    const one: Case = { ...c, insns: [alone(c.insns[k]!)], regs, flags: s.flags };
    if (fails(one)) {
      best = one;
      break;
    }
  }
  if (best === c) {
    for (let n = 1; n < c.insns.length; n++) {
      const prefix: Case = { ...c, insns: c.insns.slice(0, n) };
      if (fails(prefix)) {
        best = prefix;
        break;
      }
    }
  }
  // Simplest state: each register 0, then small; memory zeros; flags clear.
  for (let r = 0; r < 16; r++) {
    if (best.regs[r] === 0n || r === 4) continue;
    for (const v of [0n, 1n]) {
      const regs = best.regs.slice();
      regs[r] = v;
      const x = { ...best, regs };
      if (fails(x)) {
        best = x;
        break;
      }
    }
  }
  if (best.memSeed !== 0 && fails({ ...best, memSeed: 0 })) best = { ...best, memSeed: 0 };
  if (best.flags !== 2 && fails({ ...best, flags: 2 })) best = { ...best, flags: 2 };
  return best;
}

const bytesHex = (b: readonly number[]) => b.map((x) => x.toString(16).padStart(2, "0")).join(" ");

/** A regression-test entry (for test/emu_fuzz_regressions.test.ts) holding the reference's outcome. */
export function regression(c: Case, emu: EmuTarget, ref: UnicornTarget): string {
  const e = emu.run(c);
  const r = ref.run(c);
  const detail = typeof r === "string" ? r : compare(e, r);
  if (typeof r === "string") return `// not reproducible on unicorn: ${r}`;
  const init = initialMemory(c);
  const mem: string[] = [];
  for (let a = 0; a < MEM_SIZE; a++) if (r.mem[a] !== init[a]) mem.push(`[${hex(a)}, ${hex(r.mem[a]!)}]`);
  const n = nregs(c.mode);
  return [
    "  {",
    `    // ${detail ?? "no longer differs"}`,
    `    mode: ${c.mode},`,
    `    code: "${c.insns.map(bytesHex).join(" | ")}",`,
    `    regs: [${c.regs
      .slice(0, n)
      .map((v) => `${hex(v)}n`)
      .join(", ")}],`,
    `    flags: ${hex(c.flags)},`,
    `    memSeed: ${c.memSeed},`,
    `    expect: {`,
    `      regs: [${r.regs.map((v) => `${hex(v)}n`).join(", ")}],`,
    `      rip: ${hex(r.ip)},`,
    `      flags: ${hex(r.flags & (STATUS | DF))},`,
    `      flagsMask: ${hex((STATUS | DF) & ~e.undef)},`,
    `      vector: ${r.vector},`,
    `      mem: [${mem.join(", ")}],`,
    "    },",
    "  },",
  ].join("\n");
}

/** Parses a regression entry's `code` ("b8 01 00 | 90") back into instructions. */
export function parseCode(code: string): number[][] {
  return code.split("|").map((s) =>
    s
      .trim()
      .split(/\s+/)
      .map((b) => Number.parseInt(b, 16)),
  );
}

export interface ModeReport {
  mode: Mode;
  cases: number;
  compared: number;
  skipped: number;
  mismatches: number;
  seconds: number;
  /** Why cases were not comparable, with counts. */
  skipReasons: Map<string, number>;
  /** Minimised mismatches as regression entries (the first few of each distinct kind). */
  regressions: string[];
}

/** The key a mismatch is grouped by: the failing instruction's opcode bytes without prefixes. */
function kindOf(c: Case): string {
  const insn = c.insns[c.insns.length - 1]!;
  let k = 0;
  while (k < insn.length && [0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65].includes(insn[k]!)) k++;
  if (c.mode === 64 && (insn[k]! & 0xf0) === 0x40) k++;
  const op = insn[k] === 0x0f ? insn.slice(k, k + 3) : insn.slice(k, k + 2);
  return `${c.mode}:${bytesHex(op)}`;
}

/** Runs `cases` random cases in `mode` from `seed`. */
export function fuzzMode(
  mode: Mode,
  cases: number,
  seed: number,
  generate: (rng: import("./generator.js").Rng, mode: Mode) => Case,
  Rng: typeof import("./generator.js").Rng,
  log?: (line: string) => void,
): ModeReport {
  const emu = new EmuTarget(mode);
  const ref = new UnicornTarget(mode);
  const rng = new Rng(seed);
  const seen = new Map<string, number>();
  const report: ModeReport = {
    mode,
    cases: 0,
    compared: 0,
    skipped: 0,
    mismatches: 0,
    seconds: 0,
    regressions: [],
    skipReasons: new Map(),
  };
  const t0 = performance.now();
  for (let n = 0; n < cases; n++) {
    const c = generate(rng, mode);
    const v = check(c, emu, ref);
    report.cases++;
    if (v.kind === "skip") {
      report.skipped++;
      report.skipReasons.set(v.why, (report.skipReasons.get(v.why) ?? 0) + 1);
    } else report.compared++;
    if (v.kind !== "mismatch") continue;
    report.mismatches++;
    if (report.regressions.length >= 50 || report.mismatches > 500) continue; // counted, not minimised
    const small = minimise(c, emu, ref);
    const kind = kindOf(small);
    const count = (seen.get(kind) ?? 0) + 1;
    seen.set(kind, count);
    if (count <= 2 && report.regressions.length < 50) {
      const entry = regression(small, emu, ref);
      report.regressions.push(entry);
      log?.(`mismatch ${kind} (case ${n}):\n${entry}`);
    }
  }
  report.seconds = (performance.now() - t0) / 1000;
  ref.close();
  return report;
}
