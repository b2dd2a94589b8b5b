// Flat binaries: the file's bytes copied to one guest physical address, nothing else.
import { UserError } from "../errors.js";
import type { GuestMemory } from "../memory/guest_memory.js";

export interface LoadedImage {
  /** Guest physical ranges the image occupies. */
  segments: { gpa: number; size: number }[];
  entry: number;
}

export function loadFlat(memory: GuestMemory, name: string, data: Uint8Array, loadAddr: number): LoadedImage {
  if (data.length === 0) throw new UserError(`${name}: empty image`);
  if (!memory.contains(loadAddr, data.length)) {
    const size = `0x${data.length.toString(16)} bytes`;
    throw new UserError(
      `${name}: image of ${size} at 0x${loadAddr.toString(16)} does not fit in guest RAM (0x${memory.size.toString(16)} bytes)`,
    );
  }
  memory.write(loadAddr, data);
  return { segments: [{ gpa: loadAddr, size: data.length }], entry: loadAddr };
}
