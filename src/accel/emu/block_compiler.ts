// Translation of hot blocks into JavaScript (DESIGN.md: "generated code is what buys the tenfold"). A block
// becomes one function. The commonest register and memory forms (32- and 64-bit MOV, ADD/SUB/CMP/AND/OR/XOR/
// TEST, INC/DEC, Jcc, JMP) are written out with their decoded operands as constants and the lazy flag fields
// stored as their handlers store them; every other instruction calls its handler from a call site of its own,
// so each site sees one target and V8 can inline it. RIP is exact before anything that can fault: register-
// only instructions add their lengths up, and the sum is stored before a memory access, a handler or a branch.
// A block may run on past a conditional branch that is not taken (the run loop builds them so).
import type { Cpu } from "./cpu.js";
import { FlagOp } from "./flags.js";
import type { Insn } from "./insn.js";
import { condition } from "./ops/arith.js";
import { jumpTo } from "./ops/control.js";

/** A block as one function: runs its instructions, returns how many completed. */
export type CompiledBlock = (cpu: Cpu) => number;

/** Jcc rel8 (70-7F) and Jcc rel32 (0F 80-8F): blocks continue past them when they are not taken. */
export function isJcc(op: number): boolean {
  return (op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f);
}

/** The written-out ALU rows: operator and flag operation (ADC and SBB go through their handlers). */
const ALU: ([string, FlagOp] | undefined)[] = [
  ["+", FlagOp.ADD],
  ["|", FlagOp.LOGIC],
  undefined,
  undefined,
  ["&", FlagOp.LOGIC],
  ["-", FlagOp.SUB],
  ["^", FlagOp.LOGIC],
  ["-", FlagOp.SUB],
];
const ROW_CMP = 7;
const ROW_AND = 4;

/** One instruction written out. */
interface Emitted {
  code: string;
  /** May fault: RIP must be exact before it. */
  faults: boolean;
  /** May write memory: the block ends after it when the write hit its own code (cpu.stopBlock). */
  writes: boolean;
  /** Flags it leaves: an operation known at compile time, or undefined when it leaves flags as they were. */
  flags?: { op: FlagOp; size: number };
}

/** A 64-bit register as a signed number (Cpu.regNumber). */

/** A 64-bit effective address from its summed low halves (any size) and high halves: the signed number. */
function joinAddress(low: number, high: number): number {
  const carry = Math.floor(low / 4294967296);
  return ((high + carry) | 0) * 4294967296 + (low - carry * 4294967296);
}

/** The memory operand's effective address, as operands.ts effectiveAddress computes it (same order of sums). */
function eaExpr(i: Insn): string {
  const parts: string[] = [`${i.disp}`];
  if (i.adsize === 8) {
    // As operands.ts does it: low halves summed apart from high halves, so the sum wraps modulo 2^64 exactly
    // (registers beyond 2^53 would round as doubles); EA64 joins them into the signed number.
    const high: string[] = ["0"];
    if (i.base >= 0) {
      parts.push(`(lo[${i.base}] >>> 0)`);
      high.push(`hi[${i.base}]`);
    }
    if (i.index >= 0) {
      parts.push(`(lo[${i.index}] >>> 0) * ${1 << i.scale}`);
      high.push(`Math.imul(hi[${i.index}], ${1 << i.scale})`);
    }
    if (i.ripRelative) parts.push(`(cpu.ip + ${i.len})`);
    return `EA64(${parts.join(" + ")}, ${high.join(" + ")})`;
  }
  if (i.base >= 0) parts.push(`lo[${i.base}]`);
  if (i.index >= 0) parts.push(`(lo[${i.index}] << ${i.scale})`);
  // 67 in 64-bit mode: EIP-relative, truncated to 32 bits.
  if (i.ripRelative) parts.push(`(cpu.ip + ${i.len})`);
  return i.adsize === 4 ? `((${parts.join(" + ")}) >>> 0)` : `((${parts.join(" + ")}) & 0xffff)`;
}

const linExpr = (i: Insn, size: number) => `M.linear(${i.seg}, ${eaExpr(i)}, ${size})`;

/**
 * a op b with flags, a and b as expressions: 32-bit (`wide` false) or 64-bit with high halves `ah`, `bh`.
 * Stores the result in register `d` unless `store` is false (CMP, TEST).
 */
function aluCode(row: number, wide: boolean, a: string, ah: string, b: string, bh: string, d: number, store: boolean) {
  const [o, fop] = ALU[row]!;
  if (!wide) {
    const w = store ? ` lo[${d}] = r; hi[${d}] = 0;` : "";
    return `{ const a = ${a}; const b = ${b}; const r = (a ${o} b) >>> 0; F.op = ${fop}; F.size = 4; F.a = a; F.b = b; F.r = r;${w} }`;
  }
  let rh: string;
  let r = `const r = (a ${o} b) >>> 0;`;
  if (fop === FlagOp.ADD) {
    r = "const s = a + b; const r = s >>> 0;";
    rh = "(ah + bh + (s > 0xffffffff ? 1 : 0)) | 0";
  } else if (fop === FlagOp.SUB) {
    r = "const s = a - b; const r = s >>> 0;";
    rh = "(ah - bh - (s < 0 ? 1 : 0)) | 0";
  } else rh = `(ah ${o} bh) | 0`;
  const w = store ? ` lo[${d}] = r; hi[${d}] = rh;` : "";
  return (
    `{ const a = ${a}; const ah = ${ah}; const b = ${b}; const bh = ${bh}; ${r} const rh = ${rh}; ` +
    `F.op = ${fop}; F.size = 8; F.a = a; F.b = b; F.r = r; F.aHi = ah; F.bHi = bh; F.rHi = rh;${w} }`
  );
}

function incDecCode(r: number, dec: boolean, wide: boolean): string {
  const fop = dec ? FlagOp.DEC : FlagOp.INC;
  if (!wide)
    return `{ const a = lo[${r}] >>> 0; const v = (a ${dec ? "-" : "+"} 1) >>> 0; F.set(${fop}, 4, a, 1, v); lo[${r}] = v; hi[${r}] = 0; }`;
  const carry = dec ? "(v < 0 ? -1 : 0)" : "(v > 0xffffffff ? 1 : 0)";
  return (
    `{ const a = lo[${r}] >>> 0; const ah = hi[${r}]; const v = a ${dec ? "-" : "+"} 1; const r = v >>> 0; ` +
    `const rh = (ah + ${carry}) | 0; F.set64(${fop}, a, ah, 1, 0, r, rh); lo[${r}] = r; hi[${r}] = rh; }`
  );
}

/** `i` written out, or undefined when its handler must run. */
function emitFast(i: Insn, codeSize: number): Emitted | undefined {
  if (i.lock || i.rep || i.opsize === 2) return undefined;
  const op = i.op;
  const wide = i.opsize === 8;
  const size = wide ? 8 : 4;
  const reg = (k: string) => ({ code: k, faults: false, writes: false });
  const mem = i.mod !== 3 && (i.adsize !== 8 || codeSize === 8);
  // ALU r/m, r (01, 09, ...) and r, r/m (03, 0B, ...), rAX, imm (05, 0D, ...).
  if (op < 0x40 && (op & 7) <= 5 && (op & 7) !== 0 && (op & 7) !== 2 && (op & 7) !== 4 && ALU[op >> 3]) {
    const row = op >> 3;
    const store = row !== ROW_CMP;
    const flags = { op: ALU[row]![1], size };
    const imm = i.imm >>> 0;
    const immHi = i.imm < 0 ? -1 : 0;
    if ((op & 7) === 5)
      return { ...reg(aluCode(row, wide, "lo[0] >>> 0", "hi[0]", `${imm}`, `${immHi}`, 0, store)), flags };
    if (i.mod === 3) {
      const [d, s] = (op & 7) === 1 ? [i.rm, i.reg] : [i.reg, i.rm];
      const code = aluCode(row, wide, `lo[${d}] >>> 0`, `hi[${d}]`, `lo[${s}] >>> 0`, `hi[${s}]`, d, store);
      return { ...reg(code), flags };
    }
    if ((op & 7) === 3 && mem) {
      // r, [m]: the operand is read first (it may fault), as the handler does.
      const load = wide
        ? `const m = M.read64(${linExpr(i, 8)}) >>> 0; const mh = cpu.vHi; `
        : `const m = M.read32(${linExpr(i, 4)}) >>> 0; `;
      const body = aluCode(row, wide, `lo[${i.reg}] >>> 0`, `hi[${i.reg}]`, "m", "mh", i.reg, store);
      return { code: `{ ${load}${body} }`, faults: true, writes: false, flags };
    }
    return undefined;
  }
  if (i.mod === 3) {
    // ALU r/m, imm (81, 83).
    if ((op === 0x81 || op === 0x83) && ALU[i.reg & 7]) {
      const row = i.reg & 7;
      const code = aluCode(
        row,
        wide,
        `lo[${i.rm}] >>> 0`,
        `hi[${i.rm}]`,
        `${i.imm >>> 0}`,
        `${i.imm < 0 ? -1 : 0}`,
        i.rm,
        row !== ROW_CMP,
      );
      return { ...reg(code), flags: { op: ALU[row]![1], size } };
    }
    // TEST r/m, r (85): a is r/m, b the register, as the handler passes them.
    if (op === 0x85) {
      const code = aluCode(
        ROW_AND,
        wide,
        `lo[${i.rm}] >>> 0`,
        `hi[${i.rm}]`,
        `lo[${i.reg}] >>> 0`,
        `hi[${i.reg}]`,
        0,
        false,
      );
      return { ...reg(code), flags: { op: FlagOp.LOGIC, size } };
    }
    // TEST r/m, imm (F7 /0, /1).
    if (op === 0xf7 && (i.reg & 7) < 2) {
      const code = aluCode(
        ROW_AND,
        wide,
        `lo[${i.rm}] >>> 0`,
        `hi[${i.rm}]`,
        `${i.imm >>> 0}`,
        `${i.imm < 0 ? -1 : 0}`,
        0,
        false,
      );
      return { ...reg(code), flags: { op: FlagOp.LOGIC, size } };
    }
    // INC/DEC r/m (FF /0, /1).
    if (op === 0xff && (i.reg & 7) < 2) {
      const dec = (i.reg & 7) === 1;
      return { ...reg(incDecCode(i.rm, dec, wide)), flags: { op: dec ? FlagOp.DEC : FlagOp.INC, size } };
    }
    // MOV r, r.
    if (op === 0x89 || op === 0x8b) {
      const [d, s] = op === 0x89 ? [i.rm, i.reg] : [i.reg, i.rm];
      return reg(`lo[${d}] = lo[${s}]; hi[${d}] = ${wide ? `hi[${s}]` : "0"};`);
    }
    // MOV r/m, imm (C7 /0).
    if (op === 0xc7 && (i.reg & 7) === 0)
      return reg(`lo[${i.rm}] = ${i.imm | 0}; hi[${i.rm}] = ${wide && i.imm < 0 ? -1 : 0};`);
  }
  // TEST eAX, imm (A9).
  if (op === 0xa9) {
    const code = aluCode(ROW_AND, wide, "lo[0] >>> 0", "hi[0]", `${i.imm >>> 0}`, `${i.imm < 0 ? -1 : 0}`, 0, false);
    return { ...reg(code), flags: { op: FlagOp.LOGIC, size } };
  }
  // INC/DEC r (40-4F: REX prefixes in 64-bit mode, so never decoded as these there).
  if (op >= 0x40 && op <= 0x4f && codeSize !== 8) {
    const dec = op >= 0x48;
    return { ...reg(incDecCode(op & 7, dec, false)), flags: { op: dec ? FlagOp.DEC : FlagOp.INC, size: 4 } };
  }
  // MOV r, imm (B8+r).
  if (op >= 0xb8 && op <= 0xbf) {
    const r = (op & 7) | (i.rm & 8);
    return reg(`lo[${r}] = ${i.imm | 0}; hi[${r}] = ${wide ? i.immHi | 0 : 0};`);
  }
  // MOVZX/MOVSX r, r/m8 and r/m16 (0F B6, B7, BE, BF).
  if (op === 0x1b6 || op === 0x1b7 || op === 0x1be || op === 0x1bf) {
    const byte = op === 0x1b6 || op === 0x1be;
    let v: string;
    if (i.mod === 3) {
      const r = i.rm;
      v = byte ? (r < 4 || i.rex ? `(lo[${r}] & 0xff)` : `((lo[${r - 4}] >> 8) & 0xff)`) : `(lo[${r}] & 0xffff)`;
    } else if (mem) v = byte ? `M.read8(${linExpr(i, 1)})` : `M.read16(${linExpr(i, 2)})`;
    else return undefined;
    const signed = op >= 0x1be;
    const ext = signed ? (byte ? "(v << 24) >> 24" : "(v << 16) >> 16") : "v";
    const hiv = signed && wide ? "x < 0 ? -1 : 0" : "0";
    return {
      code: `{ const v = ${v}; const x = ${ext}; lo[${i.reg}] = x; hi[${i.reg}] = ${hiv}; }`,
      faults: i.mod !== 3,
      writes: false,
    };
  }
  if (!mem) return undefined;
  // LEA: no access, but a RIP-relative address reads RIP, so it is stored first (`faults`).
  if (op === 0x8d) {
    // A 64-bit address is arithmetic on values that may pass 2^53: the handler computes its halves exactly.
    if (i.adsize === 8) return undefined;
    const code = `{ lo[${i.reg}] = ${eaExpr(i)} >>> 0; hi[${i.reg}] = 0; }`;
    return { code, faults: i.ripRelative, writes: false };
  }
  // MOV r, [m] and MOV [m], r.
  if (op === 0x8b) {
    const code = wide
      ? `{ const v = M.read64(${linExpr(i, 8)}); lo[${i.reg}] = v; hi[${i.reg}] = cpu.vHi; }`
      : `{ lo[${i.reg}] = M.read32(${linExpr(i, 4)}); hi[${i.reg}] = 0; }`;
    return { code, faults: true, writes: false };
  }
  if (op === 0x89) {
    const code = wide
      ? `{ const v = lo[${i.reg}]; const vh = hi[${i.reg}]; M.write64(${linExpr(i, 8)}, v >>> 0, vh); }`
      : `{ const v = lo[${i.reg}] >>> 0; M.write32(${linExpr(i, 4)}, v); }`;
    return { code, faults: true, writes: true };
  }
  // MOV [m], imm (C7 /0).
  if (op === 0xc7 && (i.reg & 7) === 0) {
    const code = wide
      ? `M.write64(${linExpr(i, 8)}, ${i.imm >>> 0}, ${i.imm < 0 ? -1 : 0});`
      : `M.write32(${linExpr(i, 4)}, ${i.imm >>> 0});`;
    return { code, faults: true, writes: true };
  }
  return undefined;
}

/**
 * Condition `cc` as an expression: read straight from the lazy flag fields when the operation that last set
 * them is known at compile time (the same values Flags.cf()/zf()/... compute), else through condition().
 */
function conditionExpr(cc: number, known: { op: FlagOp; size: number } | undefined): string {
  const generic = `C(cpu, ${cc})`;
  if (!known) return generic;
  const { op, size } = known;
  const w = size === 8;
  const zf = w ? "(F.r | F.rHi) === 0" : "F.r === 0";
  const sf = w ? "F.rHi < 0" : "(F.r & 0x80000000) !== 0";
  let cf: string | undefined;
  if (op === FlagOp.LOGIC) cf = "false";
  else if (op === FlagOp.INC || op === FlagOp.DEC) cf = "(F.eager & 1) !== 0";
  else if (op === FlagOp.SUB)
    cf = w ? "((F.aHi >>> 0) < (F.bHi >>> 0) || (F.aHi === F.bHi && F.a < F.b))" : "F.a < F.b";
  else if (op === FlagOp.ADD)
    cf = w ? "((F.rHi >>> 0) < (F.aHi >>> 0) || (F.rHi === F.aHi && F.r < F.a))" : "F.r < F.a";
  // SF != OF: signed less-than after a subtraction, SF after a logical operation (OF = 0).
  let lt: string | undefined;
  if (op === FlagOp.SUB) lt = w ? "(F.aHi < F.bHi || (F.aHi === F.bHi && F.a < F.b))" : "(F.a | 0) < (F.b | 0)";
  else if (op === FlagOp.LOGIC) lt = `(${sf})`;
  let c: string | undefined;
  switch (cc >> 1) {
    case 1:
      c = cf;
      break;
    case 2:
      c = zf;
      break;
    case 3:
      c = cf && `(${cf}) || ${zf}`;
      break;
    case 4:
      c = sf;
      break;
    case 6:
      c = lt;
      break;
    case 7:
      c = lt && `${zf} || ${lt}`;
      break;
  }
  if (c === undefined) return generic;
  return cc & 1 ? `!(${c})` : `(${c})`;
}

export function compileBlock(cpu: Cpu, insns: readonly Insn[], codeSize: number): CompiledBlock {
  const wrap = (x: string) => (codeSize === 8 ? `(${x})` : codeSize === 4 ? `((${x}) >>> 0)` : `((${x}) & 0xffff)`);
  const params: string[] = ["F", "lo", "hi", "M", "C", "J", "EA64"];
  const args: unknown[] = [cpu.flags, cpu.lo, cpu.hi, cpu.mem, condition, jumpTo, joinAddress];
  const lines: string[] = [];
  // Bytes of register-only instructions run since cpu.ip was last stored.
  let pending = 0;
  const flush = () => {
    if (pending !== 0) lines.push(`cpu.ip = ${wrap(`cpu.ip + ${pending}`)};`);
    pending = 0;
  };
  let known: { op: FlagOp; size: number } | undefined;
  insns.forEach((insn, k) => {
    const op = insn.op;
    const relative = isJcc(op) || op === 0xeb || op === 0xe9;
    if (relative && !insn.lock && !insn.rep) {
      // Jcc / JMP rel: jumpTo checks the target (limit, canonical form) with RIP still at the branch.
      flush();
      params.push(`i${k}`);
      args.push(insn);
      const taken = `J(cpu, i${k}, ${wrap(`cpu.ip + ${insn.len}`)} + ${insn.imm}); cpu.ip = cpu.nextIp; return ${k + 1};`;
      if (op === 0xeb || op === 0xe9) {
        lines.push(taken);
        return;
      }
      lines.push(`if (${conditionExpr(op & 15, known)}) { ${taken} }`);
      pending += insn.len;
      return;
    }
    const fast = emitFast(insn, codeSize);
    if (fast !== undefined) {
      if (fast.faults) flush();
      lines.push(fast.code);
      pending += insn.len;
      if (fast.flags) known = fast.flags;
      if (fast.writes) {
        flush();
        lines.push(`if (cpu.stopBlock) { cpu.stopBlock = false; return ${k + 1}; }`);
      }
      return;
    }
    flush();
    known = undefined;
    params.push(`h${k}`, `i${k}`);
    args.push(insn.exec, insn);
    lines.push(`cpu.nextIp = ${wrap(`cpu.ip + ${insn.len}`)};`);
    if (isJcc(op)) lines.push(`const ft${k} = cpu.nextIp;`);
    lines.push(`h${k}(cpu, i${k});`);
    lines.push("cpu.ip = cpu.nextIp;");
    lines.push(`if (cpu.stopBlock) { cpu.stopBlock = false; return ${k + 1}; }`);
    if (isJcc(op)) lines.push(`if (cpu.ip !== ft${k}) return ${k + 1};`);
  });
  flush();
  lines.push(`return ${insns.length};`);
  const factory = new Function(...params, `return function block(cpu) {\n${lines.join("\n")}\n};`);
  return factory(...args) as CompiledBlock;
}
