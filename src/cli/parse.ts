// Parsing of the CLI's numbers, sizes and register assignments. Each failure is a UserError naming the input.

import { REG_NAMES, type Regs } from "../arch/x86/cpu_state.js";
import { UserError } from "../errors.js";

/** An address or count: decimal, 0x hex, 0o octal or 0b binary. */
export function parseNumber(text: string, what: string): number {
  const value = parseBigInt(text, what);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new UserError(`${what}: ${text} is too large`);
  return Number(value);
}

function parseBigInt(text: string, what: string): bigint {
  if (!/^(0x[0-9a-f]+|0o[0-7]+|0b[01]+|[0-9]+)$/i.test(text.replace(/_/g, ""))) {
    throw new UserError(`${what}: "${text}" is not a number`);
  }
  return BigInt(text.replace(/_/g, ""));
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1 << 10, m: 1 << 20, g: 1 << 30 };

/** A size such as 65536, 0x10000, 64K, 128M, 2G (binary units; a trailing "iB" or "B" is accepted). */
export function parseSize(text: string, what: string): number {
  const m = /^(0x[0-9a-f]+|[0-9]+)\s*([kmg]?)(i?b)?$/i.exec(text);
  if (!m) throw new UserError(`${what}: "${text}" is not a size (e.g. 65536, 64K, 128M, 1G)`);
  const unit = SIZE_UNITS[(m[2] ?? "").toLowerCase()] ?? 1;
  const size = Number(BigInt(m[1] as string)) * unit;
  if (!Number.isSafeInteger(size)) throw new UserError(`${what}: ${text} is too large`);
  return size;
}

// 32- and 16-bit names set the whole 64-bit register.
const REG_ALIASES: Record<string, keyof Regs> = {
  eax: "rax",
  ebx: "rbx",
  ecx: "rcx",
  edx: "rdx",
  esi: "rsi",
  edi: "rdi",
  esp: "rsp",
  ebp: "rbp",
  eip: "rip",
  eflags: "rflags",
  ax: "rax",
  bx: "rbx",
  cx: "rcx",
  dx: "rdx",
  si: "rsi",
  di: "rdi",
  sp: "rsp",
  bp: "rbp",
  ip: "rip",
  flags: "rflags",
};

/** NAME=VALUE, e.g. rax=2 or bx=0x10. */
export function parseRegAssignment(text: string): [keyof Regs, bigint] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UserError(`--reg: "${text}" is not NAME=VALUE`);
  const name = text.slice(0, eq).toLowerCase();
  const reg = (REG_NAMES as readonly string[]).includes(name) ? (name as keyof Regs) : REG_ALIASES[name];
  if (!reg) throw new UserError(`--reg: unknown register "${text.slice(0, eq)}"`);
  const value = parseBigInt(text.slice(eq + 1), `--reg ${name}`);
  if (value >= 1n << 64n) throw new UserError(`--reg ${name}: ${text.slice(eq + 1)} does not fit in 64 bits`);
  return [reg, value];
}

/** Splits a list the way QEMU's get_opt_value does: at commas, with ",," standing for a comma. */
export function splitQemuList(list: string): string[] {
  const out: string[] = [];
  let current = "";
  for (let i = 0; i < list.length; i++) {
    const c = list[i] as string;
    if (c !== ",") current += c;
    else if (list[i + 1] === ",") {
      current += ",";
      i++;
    } else {
      out.push(current);
      current = "";
    }
  }
  out.push(current);
  return out;
}
