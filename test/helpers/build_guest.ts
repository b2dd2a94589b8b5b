// Builds guests/*.S into files a VMM can load: flat binaries (for `tsvmm run --mode ...`) and ELF kernels
// (for `tsvmm run --kernel`), with GNU as and ld. Results are cached by content under .cache/guests, so a
// second build of the same source, script and options costs one hash.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (compiled helpers run from dist/test/helpers). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const GUESTS = join(ROOT, "guests");
const CACHE = join(ROOT, ".cache", "guests");

export type ElfKind = "elf32" | "elf64";

interface Toolchain {
  as: string[];
  ldEmulation: string;
}

const TOOLCHAINS: Record<ElfKind, Toolchain> = {
  elf32: { as: ["--32"], ldEmulation: "elf_i386" },
  elf64: { as: ["--64"], ldEmulation: "elf_x86_64" },
};

function run(tool: string, args: string[]): void {
  try {
    execFileSync(tool, args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === "ENOENT") throw new Error(`${tool} not found: install GNU binutils to build test guests`);
    const detail = err.stderr?.toString().trim() || err.message;
    throw new Error(`${tool} ${args.join(" ")} failed:\n${detail}`);
  }
}

/** The texts of guests/lib/*.inc (the helpers guests `.include`), by name. */
function libraryTexts(): string[] {
  const lib = join(GUESTS, "lib");
  if (!existsSync(lib)) return [];
  return readdirSync(lib)
    .filter((f) => f.endsWith(".inc"))
    .sort()
    .map((f) => `${f}\n${readFileSync(join(lib, f), "utf8")}`);
}

/** A path under guests/ (or an absolute path) made absolute. */
function guestPath(file: string): string {
  return resolve(GUESTS, file);
}

/** A flat guest is 64-bit if its source says .code64 anywhere (as --64 accepts .code16/.code32 too). */
function flatKind(source: string): ElfKind {
  return /^\s*\.code64\b/m.test(source) ? "elf64" : "elf32";
}

/**
 * Builds (once) `src` with `as` then `ld` into a file ending in `outExt` and returns its path. `inputs` are every text the
 * result depends on, for the cache key.
 */
function build(src: string, outExt: string, inputs: string[], ldArgs: string[], kind: ElfKind): string {
  // The shared includes under guests/lib are inputs of every guest: editing one rebuilds its users.
  const key = createHash("sha256")
    .update([...inputs, ...libraryTexts()].join("\0"))
    .digest("hex")
    .slice(0, 16);
  const stem = basename(src).replace(/\.S$/, "");
  const out = join(CACHE, `${stem}-${key}.${outExt}`);
  if (existsSync(out)) return out;
  mkdirSync(CACHE, { recursive: true });
  const obj = join(CACHE, `${stem}-${key}.${process.pid}.o`);
  const tmp = `${out}.${process.pid}`;
  const chain = TOOLCHAINS[kind];
  try {
    run("as", [...chain.as, "-I", dirname(src), "-o", obj, src]);
    run("ld", ["-m", chain.ldEmulation, "--no-warn-rwx-segments", ...ldArgs, "-o", tmp, obj]);
  } finally {
    rmSync(obj, { force: true });
  }
  renameSync(tmp, out); // atomic: concurrent builds never see half a file
  return out;
}

/**
 * Assembles guests/`file` into a flat binary whose first byte belongs at guest physical `base` (the
 * `--load` address; symbols resolve there). Sources with .code64 are assembled with `as --64`, others with
 * `as --32` (their .code16/.code32 directives pick the mode). Returns the path of the binary.
 */
export function buildFlat(file: string, base: number): string {
  const src = guestPath(file);
  const source = readFileSync(src, "utf8");
  const kind = flatKind(source);
  const text = `0x${base.toString(16)}`;
  return build(src, "bin", ["flat", kind, text, source], ["-e", "0", `-Ttext=${text}`, "--oformat", "binary"], kind);
}

/**
 * Assembles guests/`file` and links it with the linker script guests/`ldScript` into an ELF32 or ELF64
 * executable (e.g. a Multiboot kernel). Returns the path of the ELF file.
 */
export function buildElf(file: string, ldScript: string, kind: ElfKind): string {
  const src = guestPath(file);
  const script = guestPath(ldScript);
  const inputs = ["elf", kind, readFileSync(src, "utf8"), readFileSync(script, "utf8")];
  return build(src, "elf", inputs, ["-z", "max-page-size=0x1000", "-T", script], kind);
}
