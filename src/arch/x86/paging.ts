// Identity-mapping page tables for the boot CPU (Intel SDM vol. 3, 4.3 and 4.5): the first 4 GiB, so that
// RAM and the MMIO space above it are both reachable at their physical addresses.
import type { GuestMemory } from "../../memory/guest_memory.js";
import { PAGE_DIRECTORY_32_ADDR, PD_ADDR, PD_COUNT, PDPT_ADDR, PML4_ADDR } from "./layout.js";

const PRESENT = 0x1n;
const WRITABLE = 0x2n;
const PAGE_SIZE_BIT = 0x80n; // PS: this entry maps a large page
const ENTRIES = 512;
const ENTRIES_32 = 1024;
const LARGE_PAGE_64 = 2n << 20n; // 2 MiB
const LARGE_PAGE_32 = 4 << 20; // 4 MiB

/** 4-level paging: PML4[0] -> PDPT, PDPT[0..3] -> four page directories of 2 MiB pages. Returns CR3. */
export function writeLongModePageTables(memory: GuestMemory): bigint {
  memory.fill(PML4_ADDR, 0x1000);
  memory.fill(PDPT_ADDR, 0x1000);
  memory.writeU64(PML4_ADDR, BigInt(PDPT_ADDR) | PRESENT | WRITABLE);
  for (let d = 0; d < PD_COUNT; d++) {
    const pd = PD_ADDR + d * 0x1000;
    memory.writeU64(PDPT_ADDR + d * 8, BigInt(pd) | PRESENT | WRITABLE);
    for (let i = 0; i < ENTRIES; i++) {
      const phys = BigInt(d * ENTRIES + i) * LARGE_PAGE_64;
      memory.writeU64(pd + i * 8, phys | PRESENT | WRITABLE | PAGE_SIZE_BIT);
    }
  }
  return BigInt(PML4_ADDR);
}

/** 32-bit paging with 4 MiB pages (CR4.PSE): one page directory of 1024 entries. Returns CR3. */
export function writePaged32PageTables(memory: GuestMemory): bigint {
  for (let i = 0; i < ENTRIES_32; i++) {
    const entry = (i * LARGE_PAGE_32) | Number(PRESENT | WRITABLE | PAGE_SIZE_BIT);
    memory.writeU32(PAGE_DIRECTORY_32_ADDR + i * 4, entry >>> 0);
  }
  return BigInt(PAGE_DIRECTORY_32_ADDR);
}
