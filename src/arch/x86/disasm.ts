// Disassembly of guest instructions for fault reports and traces, with iced-x86 (loaded on first use:
// most runs never need it).
import { createRequire } from "node:module";

type Iced = typeof import("iced-x86");
let iced: Iced | undefined;
function load(): Iced {
  iced ??= createRequire(import.meta.url)("iced-x86") as Iced;
  return iced;
}

/** Maximum length of one x86 instruction. */
export const MAX_INSTRUCTION_LENGTH = 15;

export interface DecodedInstruction {
  text: string;
  length: number;
  bytes: Uint8Array;
}

/** Decodes the first instruction in `bytes` (GNU as syntax); an undecodable one reads "(bad)". */
export function disassembleOne(bytes: Uint8Array, bitness: 16 | 32 | 64, ip: bigint): DecodedInstruction {
  const { Decoder, DecoderOptions, Formatter, FormatterSyntax } = load();
  const decoder = new Decoder(bitness, bytes, DecoderOptions.None);
  const formatter = new Formatter(FormatterSyntax.Gas);
  try {
    decoder.ip = ip;
    const instr = decoder.decode();
    try {
      const length = instr.length;
      const text = instr.isInvalid ? "(bad)" : formatter.format(instr);
      return { text, length, bytes: bytes.subarray(0, length || 1) };
    } finally {
      instr.free();
    }
  } finally {
    formatter.free();
    decoder.free();
  }
}

export function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}
