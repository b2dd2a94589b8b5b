// Translation of hot blocks into JavaScript (DESIGN.md: "generated code is what buys the tenfold"). A block
// becomes one function. The commonest register and flat-memory forms are written out with their decoded
// operands as constants; every other instruction calls its handler from a call site of its own, so each
// site sees one target and V8 can inline it. RIP is kept exact before anything that can fault.
import type { Cpu } from "./cpu.js";
import { FlagOp } from "./flags.js";
import type { Insn } from "./insn.js";
import { alu } from "./ops/arith.js";

/** A block as one function: runs its instructions, returns how many completed. */
export type CompiledBlock = (cpu: Cpu) => number;

const ALU_ROWS = 8;

/** JavaScript for `i` written out, or undefined when its handler must run. */
function emitFast(i: Insn, codeSize: number): string | undefined {
  if (i.lock || i.rep || i.opsize === 2) return undefined;
  const op = i.op;
  const wide = i.opsize === 8;
  if (i.mod === 3) {
    // MOV r, r.
    if (op === 0x89 || op === 0x8b) {
      const [d, s] = op === 0x89 ? [i.rm, i.reg] : [i.reg, i.rm];
      return `lo[${d}] = lo[${s}]; hi[${d}] = ${wide ? `hi[${s}]` : "0"};`;
    }
    // ALU r/m, r and r, r/m (32-bit: the 64-bit forms go through their handler).
    if (op < ALU_ROWS * 8 && (op & 7) !== 0 && (op & 7) !== 2 && (op & 7) < 4 && !wide) {
      const row = op >> 3;
      const [d, s] = (op & 7) === 1 ? [i.rm, i.reg] : [i.reg, i.rm];
      const call = `alu(cpu, ${row}, 4, lo[${d}] >>> 0, lo[${s}] >>> 0)`;
      return row === 7 ? `${call};` : `lo[${d}] = ${call}; hi[${d}] = 0;`;
    }
    // ALU r/m, imm (81, 83), 32-bit.
    if ((op === 0x81 || op === 0x83) && !wide) {
      const row = i.reg & 7;
      const call = `alu(cpu, ${row}, 4, lo[${i.rm}] >>> 0, ${i.imm >>> 0})`;
      return row === 7 ? `${call};` : `lo[${i.rm}] = ${call}; hi[${i.rm}] = 0;`;
    }
    // TEST r/m, r, 32-bit.
    if (op === 0x85 && !wide) return `alu(cpu, 4, 4, lo[${i.rm}] >>> 0, lo[${i.reg}] >>> 0);`;
    // INC/DEC r/m (FF /0, /1), 32-bit.
    if (op === 0xff && (i.reg & 7) < 2 && !wide) {
      const dec = (i.reg & 7) === 1;
      const r = i.rm;
      return `{ const a = lo[${r}] >>> 0; const v = (a ${dec ? "-" : "+"} 1) >>> 0; F.set(${dec ? FlagOp.DEC : FlagOp.INC}, 4, a, 1, v); lo[${r}] = v; hi[${r}] = 0; }`;
    }
  }
  // MOV r, imm (B8+r).
  if (op >= 0xb8 && op <= 0xbf) {
    const r = (op & 7) | (i.rm & 8);
    return `lo[${r}] = ${i.imm | 0}; hi[${r}] = ${wide ? i.immHi | 0 : 0};`;
  }
  // MOV r, [base + disp] and MOV [base + disp], r: no index, not RIP-relative.
  if ((op === 0x8b || op === 0x89) && i.mod !== 3 && i.index < 0 && !i.ripRelative && i.base >= 0) {
    const size = wide ? 8 : 4;
    const ea =
      i.adsize === 8
        ? `cpu.regNumber(${i.base}) + ${i.disp}`
        : i.adsize === 4
          ? `(lo[${i.base}] + ${i.disp}) >>> 0`
          : undefined;
    if (!ea || (codeSize !== 8 && i.adsize === 8)) return undefined;
    const lin = `cpu.mem.linear(${i.seg}, ${ea}, ${size})`;
    if (op === 0x8b) {
      return wide
        ? `{ const v = cpu.mem.read64(${lin}); hi[${i.reg}] = cpu.vHi; lo[${i.reg}] = v; }`
        : `{ lo[${i.reg}] = cpu.mem.read32(${lin}); hi[${i.reg}] = 0; }`;
    }
    return wide ? `cpu.mem.write64(${lin}, lo[${i.reg}], hi[${i.reg}]);` : `cpu.mem.write32(${lin}, lo[${i.reg}]);`;
  }
  return undefined;
}

/** Whether a written-out instruction may write memory (and so invalidate the running block). */
function writesMemory(i: Insn): boolean {
  return i.op === 0x89 && i.mod !== 3;
}

export function compileBlock(cpu: Cpu, insns: readonly Insn[], codeSize: number): CompiledBlock {
  const wrap = codeSize === 8 ? "" : codeSize === 4 ? ">>> 0" : "& 0xffff";
  const params: string[] = ["alu", "F", "lo", "hi"];
  const lines: string[] = [];
  const args: unknown[] = [];
  insns.forEach((insn, k) => {
    const fast = emitFast(insn, codeSize);
    if (fast !== undefined) {
      lines.push(fast);
      lines.push(`cpu.ip = (cpu.ip + ${insn.len}) ${wrap};`);
      if (writesMemory(insn)) lines.push(`if (cpu.stopBlock) { cpu.stopBlock = false; return ${k + 1}; }`);
      return;
    }
    params.push(`h${k}`, `i${k}`);
    args.push(insn.exec, insn);
    lines.push(`cpu.nextIp = (cpu.ip + ${insn.len}) ${wrap};`);
    lines.push(`h${k}(cpu, i${k});`);
    lines.push("cpu.ip = cpu.nextIp;");
    lines.push(`if (cpu.stopBlock) { cpu.stopBlock = false; return ${k + 1}; }`);
  });
  lines.push(`return ${insns.length};`);
  const factory = new Function(...params, `return function block(cpu) {\n${lines.join("\n")}\n};`);
  return factory(alu, cpu.flags, cpu.lo, cpu.hi, ...args) as CompiledBlock;
}
