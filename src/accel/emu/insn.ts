// A decoded instruction: everything the decoder learned from its bytes, so that running it again needs no
// decoding. One class, one shape: handlers stay monomorphic.
import type { Cpu } from "./cpu.js";

export type Handler = (cpu: Cpu, i: Insn) => void;

/** Opcode maps, as offsets into one 0x400-entry opcode space. */
export const MAP_0F = 0x100;
export const MAP_0F38 = 0x200;
export const MAP_0F3A = 0x300;

export class Insn {
  /** Opcode in the combined space: 0x00-0xff one byte, 0x100 + b after 0F, 0x200 + b after 0F 38, 0x300 + b after 0F 3A. */
  op = 0;
  exec: Handler = () => {};
  /** Length in bytes. */
  len = 0;
  /** Operand size in bytes for non-byte forms: 2, 4 or 8. */
  opsize = 4;
  /** Operand size of stack operations and near branches (64 by default in 64-bit mode). */
  stackSize = 4;
  /** Address size in bytes: 2, 4 or 8. */
  adsize = 4;
  /** Segment of the memory operand: the override, or DS/SS by its base register. */
  seg = 3;
  /** A segment-override prefix was present. */
  segOverride = false;
  /** 0, 0xf2 (REPNE) or 0xf3 (REP/REPE). */
  rep = 0;
  /** An operand-size prefix (0x66) was present (SSE uses it as a mandatory prefix). */
  prefix66 = false;
  lock = false;
  /** Any REX prefix: SPL/BPL/SIL/DIL replace AH/CH/DH/BH. */
  rex = false;
  /** ModRM fields, REX bits folded in. mod 3 = register operand. */
  mod = 3;
  reg = 0;
  rm = 0;
  /** Memory operand: base and index register numbers (-1 for none), scale (0-3), displacement. */
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  /** 64-bit RIP-relative addressing: the displacement counts from the next instruction. */
  ripRelative = false;
  /** Immediates: imm (sign-extended as the encoding says), imm2 (ENTER's second, a far pointer's selector). */
  imm = 0;
  imm2 = 0;
  /** High half of MOV r64, imm64's immediate. */
  immHi = 0;
  /** Ends the block: control transfers and anything that changes how the following bytes decode. */
  endsBlock = false;
  /** The raw bytes, for reports. */
  bytes: number[] = [];
}
