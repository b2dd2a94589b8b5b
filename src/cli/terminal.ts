// The terminal as the guest's console: raw mode while the guest runs (so keys reach it unprocessed,
// Ctrl-C included), QEMU's Ctrl-A escape, and the terminal restored on every way out.
import { PassThrough } from "node:stream";
import { EscapeFilter } from "./escape.js";

export interface ConsoleInput {
  stream: NodeJS.ReadableStream;
  restore(): void;
}

/** Console input from stdin: raw with the escape filter on a TTY, the bytes as they are from a pipe or file. */
export function stdinConsole(onQuit: () => void): ConsoleInput {
  const stdin = process.stdin;
  if (!stdin.isTTY) return { stream: stdin, restore: () => stdin.pause() };

  const filter = new EscapeFilter();
  const filtered = new PassThrough();
  stdin.setRawMode(true);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    stdin.setRawMode(false);
    stdin.pause();
  };
  // Restore even if the process leaves by a path that skips our finally blocks.
  process.once("exit", restore);
  stdin.on("data", (chunk: Buffer) => {
    const { forward, quit } = filter.feed(chunk);
    if (forward.length > 0) filtered.write(forward);
    if (quit) onQuit();
  });
  return { stream: filtered, restore };
}
