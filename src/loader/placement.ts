// Where an image may go: inside guest RAM, its segments apart from each other and clear of the ranges
// tsvmm writes itself (GDT, stack, page tables, boot information). One error per failure, naming the file.
import type { ReservedRange } from "../arch/x86/layout.js";
import { UserError } from "../errors.js";
import type { GuestMemory } from "../memory/guest_memory.js";

export interface Placement {
  gpa: number;
  size: number;
}

/** The image's description of itself: its segments, its entry point, and which mode enters it. */
export interface LoadedImage {
  segments: Placement[];
  entry: number;
  /** First free byte above the image. */
  end: number;
}

const hex = (n: number) => `0x${n.toString(16)}`;

export function checkPlacement(
  memory: GuestMemory,
  name: string,
  segments: readonly Placement[],
  reserved: readonly ReservedRange[],
): void {
  const sorted = [...segments].sort((a, b) => a.gpa - b.gpa);
  sorted.forEach((s, i) => {
    const end = s.gpa + s.size;
    if (!Number.isSafeInteger(end) || !memory.contains(s.gpa, s.size)) {
      throw new UserError(
        `${name}: ${hex(s.size)} bytes at ${hex(s.gpa)} do not fit in guest RAM (${hex(memory.size)} bytes)`,
      );
    }
    const next = sorted[i + 1];
    if (next && next.gpa < end) {
      throw new UserError(`${name}: segments at ${hex(s.gpa)} and ${hex(next.gpa)} overlap`);
    }
    const clash = reserved.find((r) => s.gpa < r.gpa + r.size && r.gpa < end);
    if (clash) {
      throw new UserError(
        `${name}: ${hex(s.size)} bytes at ${hex(s.gpa)} overlap ${clash.what} at ${hex(clash.gpa)}-${hex(clash.gpa + clash.size - 1)}`,
      );
    }
  });
}
