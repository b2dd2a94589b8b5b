// The machine's one memory map, in the BIOS E820 form (ACPI 6.3, 15 "System Address Map Interfaces"): what a
// Linux zero page (e820_table), a PVH start info (memmap) and a Multiboot information structure (mmap) all
// carry, built from the fixed layout (layout.ts) and the guest RAM regions. Below 1 MiB: conventional memory,
// then the EBDA and the VGA/BIOS hole reserved, the ACPI tables' area as ACPI data; above it, RAM up to the
// 32-bit MMIO space (IOAPIC, local APIC, the firmware window: reserved) and RAM above 4 GiB as the regions have it.
import {
  ACPI_RSDP_ADDR,
  ACPI_TABLES_END,
  APIC_MMIO_SIZE,
  EBDA_START,
  FIRMWARE_WINDOW_START,
  FOUR_GIB,
  HIGH_MEMORY_START,
  IOAPIC_ADDR,
  LAPIC_ADDR,
} from "./layout.js";

/** Address range types (ACPI 6.3, table 15.312); Multiboot's and PVH's maps use the same numbers. */
export const E820_RAM = 1;
export const E820_RESERVED = 2;
export const E820_ACPI = 3;
export type E820Type = typeof E820_RAM | typeof E820_RESERVED | typeof E820_ACPI;

export interface E820Entry {
  addr: number;
  size: number;
  type: E820Type;
}

/** The ranges that are not RAM whatever the memory size, in address order. */
const FIXED_RANGES: readonly E820Entry[] = [
  { addr: EBDA_START, size: ACPI_RSDP_ADDR - EBDA_START, type: E820_RESERVED },
  { addr: ACPI_RSDP_ADDR, size: ACPI_TABLES_END - ACPI_RSDP_ADDR, type: E820_ACPI },
  { addr: ACPI_TABLES_END, size: HIGH_MEMORY_START - ACPI_TABLES_END, type: E820_RESERVED },
  { addr: IOAPIC_ADDR, size: APIC_MMIO_SIZE, type: E820_RESERVED },
  { addr: LAPIC_ADDR, size: APIC_MMIO_SIZE, type: E820_RESERVED },
  { addr: FIRMWARE_WINDOW_START, size: FOUR_GIB - FIRMWARE_WINDOW_START, type: E820_RESERVED },
];

/**
 * The memory map for guest RAM laid out as `regions`: RAM where a region is, minus the fixed ranges, which
 * are listed whether or not RAM lies under them. Sorted by address, without overlaps.
 */
export function memoryMap(regions: readonly { gpa: number; size: number }[]): E820Entry[] {
  const entries: E820Entry[] = [...FIXED_RANGES];
  for (const { gpa, size } of regions) {
    let start = gpa;
    const end = gpa + size;
    for (const hole of FIXED_RANGES) {
      if (hole.addr >= end || hole.addr + hole.size <= start) continue;
      if (hole.addr > start) entries.push({ addr: start, size: hole.addr - start, type: E820_RAM });
      start = Math.max(start, hole.addr + hole.size);
    }
    if (end > start) entries.push({ addr: start, size: end - start, type: E820_RAM });
  }
  return entries.sort((a, b) => a.addr - b.addr);
}

/** Bytes of RAM in the map below 1 MiB and above it (Multiboot's mem_lower and mem_upper, in bytes). */
export function conventionalAndExtended(map: readonly E820Entry[]): { lower: number; upper: number } {
  const ramFrom = (addr: number) => map.find((e) => e.type === E820_RAM && e.addr === addr)?.size ?? 0;
  return { lower: ramFrom(0), upper: ramFrom(HIGH_MEMORY_START) };
}
