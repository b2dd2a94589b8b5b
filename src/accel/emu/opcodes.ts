// The opcode registry: instruction families (ops/*.ts) register their handlers here by opcode, and by the
// ModRM reg field for the group opcodes (Intel SDM vol. 2, appendix A). What no family registered decodes
// to a handler that raises #UD and remembers the opcode, so the run's report can name it.
import type { Cpu } from "./cpu.js";
import { ud } from "./fault.js";
import type { Handler, Insn } from "./insn.js";

const SPACE = 0x400;
export const handlers: (Handler | undefined)[] = new Array(SPACE).fill(undefined);
/** Group opcodes: eight handlers chosen by ModRM.reg. */
export const groups: (Handler | undefined)[][] = new Array(SPACE).fill(undefined).map(() => []);
/** Opcodes (or group members) after which a block ends. */
export const blockEnders = new Set<number>();
const GROUP_KEY = (op: number, reg: number) => 0x10000 + op * 8 + reg;

/** Registers `fn` for opcode `op`; `endsBlock` when it may change control flow or how later bytes decode. */
export function def(op: number, fn: Handler, endsBlock = false): void {
  if (handlers[op]) throw new Error(`opcode 0x${op.toString(16)} registered twice`);
  handlers[op] = fn;
  if (endsBlock) blockEnders.add(op);
}

/** Registers `fn` for opcode `op` with ModRM.reg = `reg`. */
export function defGroup(op: number, reg: number, fn: Handler, endsBlock = false): void {
  const g = groups[op]!;
  if (g[reg]) throw new Error(`opcode 0x${op.toString(16)}/${reg} registered twice`);
  g[reg] = fn;
  if (endsBlock) blockEnders.add(GROUP_KEY(op, reg));
}

export function isGroup(op: number): boolean {
  return groups[op]!.length > 0;
}

export function endsBlock(op: number, reg: number): boolean {
  return blockEnders.has(op) || blockEnders.has(GROUP_KEY(op, reg));
}

/** Names an opcode the way the SDM's opcode maps do, e.g. "0f 0b" or "ff /7". */
export function opcodeName(op: number, reg?: number): string {
  const b = (op & 0xff).toString(16).padStart(2, "0");
  const prefix = op >= 0x300 ? "0f 3a " : op >= 0x200 ? "0f 38 " : op >= 0x100 ? "0f " : "";
  return `${prefix}${b}${reg === undefined ? "" : ` /${reg}`}`;
}

/** What the emulator met and does not implement, for the fault report (shared by every vCPU of a thread). */
export const unimplementedSeen: string[] = [];

/** An opcode the emulator does not implement: #UD, and a note naming it. */
export const unimplemented: Handler = (cpu: Cpu, i: Insn) => {
  const name = opcodeName(i.op, isGroup(i.op) ? i.reg & 7 : undefined);
  const bytes = i.bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ");
  const note = `the emulator does not implement opcode ${name} (bytes ${bytes} at rip 0x${cpu.ip.toString(16)}); it raised #UD`;
  if (!unimplementedSeen.includes(note) && unimplementedSeen.length < 16) unimplementedSeen.push(note);
  ud();
};

/** An encoding the architecture itself leaves undefined (or invalid in this mode). */
export const invalid: Handler = () => ud();
