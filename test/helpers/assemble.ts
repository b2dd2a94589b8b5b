// Test guests live in guests/*.S; they are assembled with GNU as and ld into flat binaries.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { assembleFlat as assemble } from "../../src/loader/assemble.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export function guestSource(name: string): string {
  return join(ROOT, "guests", name);
}

/** Assembles guests/`file` (or source text) as a flat binary linked at `base`. */
export function assembleFlat(source: { file: string } | { text: string }, base = 0x1000): Uint8Array {
  const text = "file" in source ? readFileSync(guestSource(source.file), "utf8") : source.text;
  return assemble(text, base, join(ROOT, ".cache", "guests"));
}
