// Flat binaries: the file's bytes copied to one guest physical address, nothing else.
import type { ReservedRange } from "../arch/x86/layout.js";
import { UserError } from "../errors.js";
import type { GuestMemory } from "../memory/guest_memory.js";
import { checkPlacement, type LoadedImage } from "./placement.js";

export function loadFlat(
  memory: GuestMemory,
  name: string,
  data: Uint8Array,
  loadAddr: number,
  reserved: readonly ReservedRange[] = [],
): LoadedImage {
  if (data.length === 0) throw new UserError(`${name}: empty image`);
  const segment = { gpa: loadAddr, size: data.length };
  checkPlacement(memory, name, [segment], reserved);
  memory.write(loadAddr, data);
  return { segments: [segment], entry: loadAddr, end: loadAddr + data.length };
}
