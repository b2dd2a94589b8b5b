// GNU as + ld: the shortest way from a few lines of assembly to a flat guest binary. Results are cached
// by content, so repeated runs of the same source cost nothing.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../errors.js";

const DEFAULT_CACHE = join(tmpdir(), "tsvmm-as-cache");

function tool(name: string, args: string[]): void {
  try {
    execFileSync(name, args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === "ENOENT") throw new UserError(`${name} not found: install GNU binutils to assemble .S files`);
    const first =
      err.stderr
        ?.toString()
        .split("\n")
        .find((l) => l.trim() !== "") ?? err.message;
    throw new UserError(`${name} failed: ${first}`);
  }
}

/**
 * Assembles GNU as source (which picks its mode with .code16/.code32) into a flat binary linked at `base`.
 */
export function assembleFlat(source: string, base: number, cacheDir = DEFAULT_CACHE): Uint8Array {
  const key = createHash("sha256").update(`flat ${base}\n${source}`).digest("hex").slice(0, 20);
  const out = join(cacheDir, `${key}.bin`);
  if (!existsSync(out)) {
    mkdirSync(cacheDir, { recursive: true });
    const src = join(cacheDir, `${key}.S`);
    const obj = join(cacheDir, `${key}.o`);
    writeFileSync(src, source);
    tool("as", ["--32", "-o", obj, src]);
    const tmp = `${out}.${process.pid}`;
    tool("ld", ["-m", "elf_i386", "-e", "0", `-Ttext=0x${base.toString(16)}`, "--oformat", "binary", "-o", tmp, obj]);
    renameSync(tmp, out); // atomic: concurrent runs never see half a file
  }
  return readFileSync(out);
}
