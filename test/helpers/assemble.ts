// Assembles test guests from guests/*.S with GNU as and ld into flat binaries linked at a load address.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const CACHE = join(ROOT, ".cache", "guests");

export function guestSource(name: string): string {
  return join(ROOT, "guests", name);
}

/** Assembles a source (a path under guests/ or text) as 16/32-bit code for a flat binary at `base`. */
export function assembleFlat(source: { file: string } | { text: string }, base = 0x1000): Uint8Array {
  const text = "file" in source ? readFileSync(guestSource(source.file), "utf8") : source.text;
  const key = createHash("sha256").update(`${base}\n${text}`).digest("hex").slice(0, 16);
  const out = join(CACHE, `${key}.bin`);
  if (!existsSync(out)) {
    mkdirSync(CACHE, { recursive: true });
    const src = join(CACHE, `${key}.S`);
    const obj = join(CACHE, `${key}.o`);
    writeFileSync(src, text);
    execFileSync("as", ["--32", "-o", obj, src]);
    execFileSync("ld", [
      "-m",
      "elf_i386",
      "-e",
      "0",
      `-Ttext=0x${base.toString(16)}`,
      "--oformat",
      "binary",
      "-o",
      out,
      obj,
    ]);
  }
  return readFileSync(out);
}
