// Generates docs/opcode-coverage.md from the emulator's own dispatch tables (src/accel/emu/opcodes.ts
// `handlers` and `groups`, and the SSE families' mandatory-prefix forms, sse_core.ts `registeredForms`):
// the one-byte, 0F, 0F 38 and 0F 3A opcode maps (Intel SDM vol. 2, appendix A) with what is implemented,
// what the architecture leaves undefined (#UD on hardware and here) and what is not implemented yet (#UD
// here, named in the run's report), group opcodes expanded by ModRM.reg, and the known differences from
// the references. `npm run coverage` writes the file; test/opcode_coverage.test.ts fails when it is stale.
//
// What is architecturally undefined is not in the registry (an unregistered opcode is either), so it comes
// from the SDM's opcode tables here, for legacy (non-VEX) encodings.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import "../src/accel/emu/ops/index.js";
import { groups, handlers, invalid, unimplemented } from "../src/accel/emu/opcodes.js";
import { registeredForms } from "../src/accel/emu/ops/sse_core.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const DOC = join(ROOT, "docs", "opcode-coverage.md");

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

interface MapInfo {
  title: string;
  base: number;
  prefix: string;
  /** Opcodes the decoder consumes itself (prefixes, escapes). */
  decoder: Map<number, string>;
  /** Opcodes the SDM leaves undefined (no instruction in any mode). */
  undefinedOps: Set<number>;
  /** Opcodes invalid in 64-bit mode (the handler raises #UD there). */
  invalid64: Set<number>;
  /** Opcodes the SDM defines as groups (instruction chosen by ModRM.reg), with the undefined members. */
  groups: Map<number, number[]>;
}

const ONE_BYTE: MapInfo = {
  title: "One-byte opcodes",
  base: 0,
  prefix: "",
  decoder: new Map([
    [0x0f, "esc"],
    [0x26, "P"],
    [0x2e, "P"],
    [0x36, "P"],
    [0x3e, "P"],
    [0x64, "P"],
    [0x65, "P"],
    [0x66, "P"],
    [0x67, "P"],
    [0xf0, "P"],
    [0xf2, "P"],
    [0xf3, "P"],
  ]),
  // D6 is SALC, undocumented (the SDM leaves it blank); C4/C5 are LES/LDS outside 64-bit mode, VEX in it.
  undefinedOps: new Set([0xd6]),
  invalid64: new Set([
    ...range(0x40, 0x4f),
    0x06,
    0x07,
    0x0e,
    0x16,
    0x17,
    0x1e,
    0x1f,
    0x27,
    0x2f,
    0x37,
    0x3f,
    0x60,
    0x61,
    0x62,
    0x82,
    0x9a,
    0xc4,
    0xc5,
    0xce,
    0xd4,
    0xd5,
    0xd6,
    0xea,
  ]),
  groups: new Map([
    [0x80, []],
    [0x81, []],
    [0x82, []],
    [0x83, []],
    [0x8f, range(1, 7)],
    [0xc0, []],
    [0xc1, []],
    [0xc6, range(1, 6)],
    [0xc7, range(1, 6)],
    [0xd0, []],
    [0xd1, []],
    [0xd2, []],
    [0xd3, []],
    [0xd8, []],
    [0xd9, []],
    [0xda, []],
    [0xdb, []],
    [0xdc, []],
    [0xdd, []],
    [0xde, []],
    [0xdf, []],
    [0xf6, []],
    [0xf7, []],
    [0xfe, range(2, 7)],
    [0xff, [7]],
  ]),
};

const MAP_0F: MapInfo = {
  title: "Two-byte opcodes (0F xx)",
  base: 0x100,
  prefix: "0F ",
  decoder: new Map([
    [0x38, "esc"],
    [0x3a, "esc"],
  ]),
  // Reserved in the SDM's two-byte table (0F 0E/0F are AMD's FEMMS and 3DNow!, 0F 24/26 the 386's MOV TR),
  // and UD1 (0F B9) and UD0 (0F FF), defined to raise #UD.
  undefinedOps: new Set([
    0xb9, 0xff, 0x04, 0x0a, 0x0c, 0x0e, 0x0f, 0x24, 0x25, 0x26, 0x27, 0x36, 0x39, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x7a,
    0x7b, 0xa6, 0xa7,
  ]),
  invalid64: new Set(),
  groups: new Map([
    [0x00, [6, 7]],
    [0x01, []],
    [0x18, []],
    [0x71, [0, 1, 3, 5, 7]],
    [0x72, [0, 1, 3, 5, 7]],
    [0x73, [0, 1, 4, 5]],
    [0xae, []],
    [0xba, [0, 1, 2, 3]],
    [0xc7, [0, 2]],
  ]),
};

// The legacy-encoded (non-VEX) three-byte instructions the SDM defines; every other byte is undefined.
const DEFINED_0F38 = new Set([
  ...range(0x00, 0x0b),
  0x10,
  0x14,
  0x15,
  0x17,
  0x1c,
  0x1d,
  0x1e,
  ...range(0x20, 0x25),
  ...range(0x28, 0x2b),
  ...range(0x30, 0x35),
  ...range(0x37, 0x41),
  0x80,
  0x81,
  0x82,
  ...range(0xc8, 0xcd),
  0xcf,
  ...range(0xdb, 0xdf),
  0xf0,
  0xf1,
  0xf5,
  0xf6,
  0xf8,
  0xf9,
]);
const DEFINED_0F3A = new Set([
  ...range(0x08, 0x0f),
  ...range(0x14, 0x17),
  0x20,
  0x21,
  0x22,
  0x40,
  0x41,
  0x42,
  0x44,
  ...range(0x60, 0x63),
  0xcc,
  0xce,
  0xcf,
  0xdf,
]);
const MAP_0F38: MapInfo = {
  title: "Three-byte opcodes (0F 38 xx)",
  base: 0x200,
  prefix: "0F 38 ",
  decoder: new Map(),
  undefinedOps: new Set(range(0, 255).filter((b) => !DEFINED_0F38.has(b))),
  invalid64: new Set(),
  groups: new Map(),
};
const MAP_0F3A: MapInfo = {
  title: "Three-byte opcodes (0F 3A xx)",
  base: 0x300,
  prefix: "0F 3A ",
  decoder: new Map(),
  undefinedOps: new Set(range(0, 255).filter((b) => !DEFINED_0F3A.has(b))),
  invalid64: new Set(),
  groups: new Map(),
};
const MAPS = [ONE_BYTE, MAP_0F, MAP_0F38, MAP_0F3A];

type State = "yes" | "partial" | "undefined" | "missing" | "decoder";

function implemented(h: unknown): boolean {
  return h !== undefined && h !== unimplemented && h !== invalid;
}

/** A group member's state: implemented, architecturally undefined, or not implemented. */
function memberState(map: MapInfo, b: number, reg: number): State {
  const op = map.base + b;
  const h = groups[op]?.[reg];
  if (implemented(h)) return "yes";
  if (h === invalid || map.groups.get(b)?.includes(reg)) return "undefined";
  // One handler for the whole opcode, which decodes ModRM.reg itself (as a plain opcode is registered).
  if ((groups[op]?.length ?? 0) === 0 && implemented(handlers[op])) return plainState(map, b);
  return "missing";
}

function cellState(map: MapInfo, b: number): State {
  if (map.decoder.has(b)) return "decoder";
  const op = map.base + b;
  const members = map.groups.has(b) || (groups[op]?.length ?? 0) > 0;
  if (members) {
    const states = range(0, 7).map((reg) => memberState(map, b, reg));
    const defined = states.filter((s) => s !== "undefined");
    if (defined.length === 0) return "undefined";
    if ((groups[op]?.length ?? 0) === 0 && implemented(handlers[op])) return plainState(map, b);
    if (defined.every((s) => s === "yes")) return "yes";
    return defined.some((s) => s === "yes") ? "partial" : "missing";
  }
  return plainState(map, b);
}

/** An opcode registered as a whole (no per-ModRM.reg table). */
function plainState(map: MapInfo, b: number): State {
  const op = map.base + b;
  const h = handlers[op];
  const forms = registeredForms.get(op);
  if (implemented(h)) {
    // A mandatory-prefix dispatcher: partial when the no-prefix form is an unimplemented MMX instruction.
    if (forms?.mmx && !forms.mmxImplemented) return "partial";
    return "yes";
  }
  if (h === invalid || map.undefinedOps.has(b)) return "undefined";
  return "missing";
}

const MARK: Record<State, string> = {
  yes: "✓",
  partial: "◐",
  undefined: "UD",
  missing: "·",
  decoder: "",
};

function cellText(map: MapInfo, b: number): string {
  const state = cellState(map, b);
  if (state === "decoder") return map.decoder.get(b) as string;
  const i64 = map.invalid64.has(b) && state !== "undefined" ? "ⁱ" : "";
  return `${MARK[state]}${i64}`;
}

const hex = (n: number) => n.toString(16).toUpperCase().padStart(2, "0");

function opcodeTable(map: MapInfo): string[] {
  const lines = [
    `| ${map.prefix.trim() || "op"} | ${range(0, 15)
      .map((c) => `x${hex(c)[1]}`)
      .join(" | ")} |`,
  ];
  lines.push(
    `|---|${range(0, 15)
      .map(() => ":-:")
      .join("|")}|`,
  );
  for (let row = 0; row < 16; row++) {
    const cells = range(0, 15).map((col) => cellText(map, row * 16 + col));
    lines.push(`| **${hex(row)[1]}x** | ${cells.join(" | ")} |`);
  }
  return lines;
}

function counts(map: MapInfo): Record<State, number> {
  const c: Record<State, number> = { yes: 0, partial: 0, undefined: 0, missing: 0, decoder: 0 };
  for (let b = 0; b < 256; b++) c[cellState(map, b)]++;
  return c;
}

function groupTable(): string[] {
  const lines = ["| opcode | /0 | /1 | /2 | /3 | /4 | /5 | /6 | /7 |", "|---|:-:|:-:|:-:|:-:|:-:|:-:|:-:|:-:|"];
  for (const map of MAPS) {
    const ops = new Set([...map.groups.keys()]);
    for (let b = 0; b < 256; b++) if ((groups[map.base + b]?.length ?? 0) > 0) ops.add(b);
    for (const b of [...ops].sort((x, y) => x - y)) {
      const cells = range(0, 7).map((reg) => MARK[memberState(map, b, reg)]);
      lines.push(`| ${map.prefix}${hex(b)} | ${cells.join(" | ")} |`);
    }
  }
  return lines;
}

function formsTable(): string[] {
  const lines = ["| opcode | none | 66 | F3 | F2 |", "|---|:-:|:-:|:-:|:-:|"];
  const name = (op: number) => {
    const map = MAPS.find((m) => op >= m.base && op < m.base + 0x100) as MapInfo;
    return `${map.prefix}${hex(op - map.base)}`;
  };
  for (const op of [...registeredForms.keys()].sort((a, b) => a - b)) {
    const f = registeredForms.get(op) as { prefixes: boolean[]; mmx: boolean; mmxImplemented: boolean };
    const cells = f.prefixes.map((p, k) => (p ? "✓" : k === 0 && f.mmx ? (f.mmxImplemented ? "✓ MMX" : "· MMX") : "—"));
    lines.push(`| ${name(op)} | ${cells.join(" | ")} |`);
  }
  return lines;
}

/** A known difference, with the words in the emulator's source that document it (checked to be there). */
interface Difference {
  what: string;
  file: string;
  marker: string;
}

const DIFFERENCES: Difference[] = [
  {
    what: "D6 (SALC, undocumented) raises #UD; Intel processors and QEMU execute it outside 64-bit mode (AL = CF ? 0xFF : 0).",
    file: "src/accel/emu/ops/misc.ts",
    marker: "SALC: undocumented; left invalid.",
  },
  {
    what: "F6 /1 and F7 /1 execute as TEST (an alias of /0), as Intel processors do; QEMU TCG (unicorn, the fuzzing reference) raises #UD, so the fuzzer does not compare them.",
    file: "src/accel/emu/ops/alu.ts",
    marker: "defGroup(opcode, 1, testImm);",
  },
  {
    what: "C0/C1/D0-D3 /6 (SAL, undocumented) execute as SHL, as processors do.",
    file: "src/accel/emu/ops/shift.ts",
    marker: "/6 is SAL, an alias of SHL",
  },
  {
    what: "Undefined flags (shifts and rotates, BT*, BSF/BSR, MUL/IMUL, DIV/IDIV, the decimal adjustments) are set as an Intel Xeon sets them, measured natively; other references (AMD processors, QEMU TCG) differ there.",
    file: "src/accel/emu/ops/shift.ts",
    marker: "What the SDM leaves undefined follows what an Intel Xeon does",
  },
  {
    what: "BSWAP of a 16-bit register (undefined) clears the low 16 bits, as Intel and AMD processors do.",
    file: "src/accel/emu/ops/bits.ts",
    marker: "BSWAP of a 16-bit register is undefined",
  },
  {
    what: "SYSCALL from compatibility mode enters at CSTAR, as AMD's processors do (Intel's raise #UD).",
    file: "src/accel/emu/ops/fast_syscall.ts",
    marker: "SYSCALL from compatibility mode enters at CSTAR, as AMD's processors do",
  },
  {
    what: "RCPPS/RCPSS/RSQRTPS/RSQRTSS return the correctly rounded values (within the architectural error), not the bit patterns of Intel's tables.",
    file: "src/accel/emu/ops/sse_core.ts",
    marker: "not the bit pattern of Intel's tables",
  },
  {
    what: "Underflow (UE) is judged on the rounded result: a few exact results just below the smallest normal that round up to it are not flagged, where Intel may flag them.",
    file: "src/accel/emu/ops/sse_core.ts",
    marker: "Tininess is detected after rounding",
  },
  {
    what: 'x87 arithmetic computes in binary64: results are those of precision control "double" (53-bit significands, binary64\'s exponent range) even under PC = extended; values loaded as 80-bit patterns are kept exactly until arithmetic touches them.',
    file: "src/accel/emu/ops/x87.ts",
    marker: 'results are those of precision control "double"',
  },
  {
    what: "FSIN/FCOS/FPTAN reduce their argument with binary64's pi, not with the 66-bit pi of Intel's FPUs; the transcendentals are correct to about 1 ulp of binary64.",
    file: "src/accel/emu/ops/x87.ts",
    marker: "not with the 66-bit pi of Intel's FPUs",
  },
  {
    what: "The x87 exceptions DE and UE are never detected.",
    file: "src/accel/emu/ops/x87.ts",
    marker: "DE and UE never",
  },
  {
    what: "With CR0.NE clear, an unmasked x87 exception raises #MF as with NE set (no FERR# to IRQ 13).",
    file: "src/accel/emu/ops/x87.ts",
    marker: "the emulator has no FERR# wiring",
  },
  {
    what: "FBLD and FBSTP (DF /4, DF /6: packed BCD) raise #UD (the group table counts DF as registered).",
    file: "src/accel/emu/ops/x87.ts",
    marker: "FBLD/FBSTP (packed BCD) are not implemented",
  },
];

function differences(): string[] {
  return DIFFERENCES.map((d) => {
    const source = readFileSync(join(ROOT, d.file), "utf8");
    if (!source.includes(d.marker)) throw new Error(`${d.file} no longer says "${d.marker}": update DIFFERENCES`);
    return `- ${d.what} (${d.file})`;
  });
}

export function renderCoverage(): string {
  const out: string[] = [
    "# The emulator's opcode coverage",
    "",
    "Generated by `npm run coverage` (scripts/opcode-coverage.ts) from the emulator's dispatch tables",
    "(`src/accel/emu/opcodes.ts` and the SSE families' mandatory-prefix forms); do not edit it by hand:",
    "`test/opcode_coverage.test.ts` fails when it no longer matches the registry.",
    "",
    "Legend: ✓ implemented · ◐ partly (some members of a group, or the MMX form of an SSE opcode, are not) ·",
    "UD undefined in the architecture (raises #UD, as on hardware) · `·` not implemented (raises #UD and the run's",
    "report names the opcode) · P prefix, esc escape byte (the decoder's) · ⁱ not this instruction in 64-bit mode",
    "(#UD there; 40-4F are REX prefixes). UD1 (0F B9) and UD0 (0F FF) count as UD: they are defined to raise #UD.",
    "Legacy encodings only: VEX (C4/C5 in 64-bit mode) and EVEX are not decoded. A group is ✓ when every",
    "member the SDM defines is registered; a member may still check its operand form (register or memory) or",
    "prefix, and raise #UD for the forms it does not implement.",
    "",
    "| map | ✓ | ◐ | UD | not implemented |",
    "|---|--:|--:|--:|--:|",
  ];
  for (const map of MAPS) {
    const c = counts(map);
    out.push(`| ${map.title} | ${c.yes} | ${c.partial} | ${c.undefined} | ${c.missing} |`);
  }
  for (const map of MAPS) {
    out.push("", `## ${map.title}`, "", ...opcodeTable(map));
  }
  out.push("", "## Groups by ModRM.reg", "", ...groupTable());
  out.push(
    "",
    "## Mandatory-prefix forms (SSE and later)",
    "",
    "Which prefix selects which instruction: ✓ registered, — raises #UD (undefined, or not implemented),",
    "MMX: the no-prefix form is an MMX instruction.",
    "",
    ...formsTable(),
  );
  out.push(
    "",
    "## Known differences from the references",
    "",
    "The references are Intel hardware (the final word, checked natively by test/emu_native.test.ts where the",
    "host allows), the Intel SDM, and QEMU TCG through unicorn (the differential fuzzer). Each entry is",
    "documented in the file named, and the generator checks that it still is.",
    "",
    ...differences(),
    "",
  );
  return out.join("\n");
}

export const COVERAGE_DOC = DOC;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = renderCoverage();
  if (process.argv.includes("--check")) {
    const current = readFileSync(DOC, "utf8");
    if (current !== text) {
      console.error("docs/opcode-coverage.md is out of date: run npm run coverage");
      process.exit(1);
    }
  } else {
    writeFileSync(DOC, text);
    console.log(`wrote ${DOC}`);
  }
}
