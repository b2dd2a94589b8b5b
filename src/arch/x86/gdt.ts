// The boot GDT and the segment registers loaded from it (Intel SDM vol. 3, 3.4.5 segment descriptors).

import type { GuestMemory } from "../../memory/guest_memory.js";
import type { Segment } from "./cpu_state.js";
import { GDT_ADDR } from "./layout.js";

/** Descriptor flags: access byte in bits 0-7, then AVL/L/D-B/G in bits 12-15 (the descriptor's layout). */
const CODE32_FLAGS = 0xc09b; // G, D, present, code: execute/read, accessed
const DATA_FLAGS = 0xc093; // G, B, present, data: read/write, accessed
const CODE64_FLAGS = 0xa09b; // G, L, present, code: execute/read, accessed
const TSS_FLAGS = 0x008b; // present, busy 32/64-bit TSS
const FLAT_LIMIT = 0xfffff; // in 4 KiB units with G: 4 GiB
const TSS_LIMIT = 0x67;

export const SELECTOR_CODE32 = 0x08;
export const SELECTOR_DATA = 0x10;
export const SELECTOR_CODE64 = 0x18;
export const SELECTOR_TSS = 0x20;

interface Descriptor {
  flags: number;
  base: number;
  limit: number;
}

const GDT: Descriptor[] = [
  { flags: 0, base: 0, limit: 0 },
  { flags: CODE32_FLAGS, base: 0, limit: FLAT_LIMIT },
  { flags: DATA_FLAGS, base: 0, limit: FLAT_LIMIT },
  { flags: CODE64_FLAGS, base: 0, limit: FLAT_LIMIT },
  { flags: TSS_FLAGS, base: 0, limit: TSS_LIMIT },
  { flags: 0, base: 0, limit: 0 }, // the upper half of the TSS descriptor in long mode
];
export const GDT_LIMIT = GDT.length * 8 - 1;

/**
 * The GDT Linux's 64-bit boot protocol asks for (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"):
 * flat 4 GiB segments at __BOOT_CS (0x10, execute/read; here 64-bit) and __BOOT_DS (0x18, read/write).
 */
export const LINUX_BOOT_CS = 0x10;
export const LINUX_BOOT_DS = 0x18;
const LINUX_BOOT_GDT: Descriptor[] = [
  { flags: 0, base: 0, limit: 0 },
  { flags: 0, base: 0, limit: 0 },
  { flags: CODE64_FLAGS, base: 0, limit: FLAT_LIMIT },
  { flags: DATA_FLAGS, base: 0, limit: FLAT_LIMIT },
];
export const LINUX_BOOT_GDT_LIMIT = LINUX_BOOT_GDT.length * 8 - 1;

function encode(d: Descriptor): bigint {
  const { flags, base, limit } = d;
  return (
    (BigInt(base & 0xff000000) << 32n) |
    (BigInt(flags & 0xf0ff) << 40n) |
    (BigInt(limit & 0xf0000) << 32n) |
    (BigInt(base & 0xffffff) << 16n) |
    BigInt(limit & 0xffff)
  );
}

export function writeGdt(memory: GuestMemory, table: "tsvmm" | "linux" = "tsvmm"): void {
  (table === "linux" ? LINUX_BOOT_GDT : GDT).forEach((d, i) => {
    memory.writeU64(GDT_ADDR + i * 8, encode(d));
  });
}

/** The segment register contents a processor loads for `selector` from the boot GDT. */
export function segmentFor(selector: number, table: "tsvmm" | "linux" = "tsvmm"): Segment {
  const d = (table === "linux" ? LINUX_BOOT_GDT : GDT)[selector >> 3];
  if (!d) throw new RangeError(`selector 0x${selector.toString(16)} is outside the boot GDT`);
  const g = (d.flags >> 15) & 1;
  return {
    base: BigInt(d.base),
    limit: g ? d.limit * 0x1000 + 0xfff : d.limit,
    selector,
    type: d.flags & 0xf,
    s: (d.flags >> 4) & 1,
    dpl: (d.flags >> 5) & 3,
    present: (d.flags >> 7) & 1,
    avl: (d.flags >> 12) & 1,
    l: (d.flags >> 13) & 1,
    db: (d.flags >> 14) & 1,
    g,
    unusable: 0,
  };
}
