// Builds the C guests in guests/c into flat 64-bit binaries for `tsvmm run --mode long` (loaded at 0x100000):
// gcc compiles guests/c/start64.S (the entry: FPU and SSE on, main called at CPL 3 on a stack of its own, its
// return value to isa-debug-exit)
// and the C file freestanding, with no libc and no libgcc, links them at 0x100000, and objcopy cuts the flat
// image out of the ELF. Results are cached under .cache/guests by the sources' text and the flags, like
// build_guest.ts; the ELF is kept next to the binary for objdump.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { ROOT } from "./build_guest.js";

const C_GUESTS = join(ROOT, "guests", "c");
const CACHE = join(ROOT, ".cache", "guests");
const START = join(C_GUESTS, "start64.S");
/** Where `--mode long` loads a flat binary and enters it (src/arch/x86/layout.ts DEFAULT_HIGH_LOAD_ADDR). */
export const C_GUEST_BASE = 0x100000;

/**
 * The compiler flags: a static, freestanding x86-64 program using SSE2 for float/double and the x87 for long
 * double. -fno-math-errno keeps sqrt inline (otherwise GCC adds a call to libm's sqrt for errno);
 * -fno-asynchronous-unwind-tables and --build-id=none keep sections out of the flat image.
 */
export const C_GUEST_FLAGS = [
  "-O2",
  "-ftree-vectorize",
  "-static",
  "-nostdlib",
  "-ffreestanding",
  "-fno-pic",
  "-mno-red-zone",
  "-m64",
  "-msse2",
  "-fno-math-errno",
  "-fno-asynchronous-unwind-tables",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-Wl,--build-id=none",
  `-Wl,-Ttext=0x${C_GUEST_BASE.toString(16)}`,
  "-e",
  "_start",
];

function run(tool: string, args: string[]): void {
  try {
    execFileSync(tool, args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === "ENOENT") throw new Error(`${tool} not found: install gcc and GNU binutils to build the C guests`);
    const detail = err.stderr?.toString().trim() || err.message;
    throw new Error(`${tool} ${args.join(" ")} failed:\n${detail}`);
  }
}

/** The entry point gcc linked (the ELF header's e_entry): it must be the first byte of the flat image. */
function elfEntry(elf: string): number {
  return Number(readFileSync(elf).readBigUInt64LE(24));
}

/**
 * Builds (once) guests/c/`file` with start64.S into a flat binary for `tsvmm run --mode long` and returns its
 * path; `<path without .bin>.elf` is the linked ELF (symbols, for objdump -d).
 */
export function buildCGuest(file: string, extraFlags: string[] = []): string {
  const src = join(C_GUESTS, file);
  const flags = [...C_GUEST_FLAGS, ...extraFlags];
  const inputs = ["c-flat", flags.join(" "), readFileSync(START, "utf8"), readFileSync(src, "utf8")];
  const key = createHash("sha256").update(inputs.join("\0")).digest("hex").slice(0, 16);
  const stem = `${basename(file).replace(/\.c$/, "")}-${key}`;
  const out = join(CACHE, `${stem}.bin`);
  if (existsSync(out)) return out;
  mkdirSync(CACHE, { recursive: true });
  const elf = join(CACHE, `${stem}.elf`);
  const tmpElf = `${elf}.${process.pid}`;
  const tmp = `${out}.${process.pid}`;
  try {
    run("gcc", [...flags, "-o", tmpElf, START, src]);
    const entry = elfEntry(tmpElf);
    if (entry !== C_GUEST_BASE) {
      throw new Error(`${file}: _start linked at 0x${entry.toString(16)}, not 0x${C_GUEST_BASE.toString(16)}`);
    }
    run("objcopy", ["-O", "binary", tmpElf, tmp]);
    renameSync(tmpElf, elf);
  } catch (e) {
    rmSync(tmpElf, { force: true });
    rmSync(tmp, { force: true });
    throw e;
  }
  renameSync(tmp, out); // atomic: concurrent builds never see half a file
  return out;
}
