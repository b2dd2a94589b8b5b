// Puts the boot vCPU into an entry mode: writes the GDT and page tables the mode needs, then sets the
// registers. What else the image expects in registers (Multiboot's EAX/EBX) its loader adds on top.

import type { GuestMemory } from "../../memory/guest_memory.js";
import type { Regs, Sregs } from "./cpu_state.js";
import { writeGdt } from "./gdt.js";
import { GDT_RANGE, PAGE_TABLES_RANGE, type ReservedRange, STACK_RANGE } from "./layout.js";
import { writeLongModePageTables, writePaged32PageTables } from "./paging.js";
import {
  type BootEntryMode,
  linux64Entry,
  longModeEntry,
  paged32Entry,
  protectedModeEntry,
  realModeEntry,
  zeroRegs,
} from "./regs.js";

export interface EntryState {
  sregs: Sregs;
  regs: Regs;
}

/** The ranges of guest memory that entering `mode` overwrites. */
export function reservedFor(mode: BootEntryMode): ReservedRange[] {
  switch (mode) {
    case "real":
      return [];
    case "protected":
      return [GDT_RANGE, STACK_RANGE];
    case "paged32":
    case "long":
    case "linux64":
      return [GDT_RANGE, STACK_RANGE, PAGE_TABLES_RANGE];
  }
}

/** Builds the entry state for `mode` from the vCPU's current special registers. */
export function enterMode(mode: BootEntryMode, memory: GuestMemory, sregs: Sregs, entry: number): EntryState {
  const regs = zeroRegs();
  if (mode !== "real") writeGdt(memory, mode === "linux64" ? "linux" : "tsvmm");
  switch (mode) {
    case "real":
      realModeEntry(sregs, regs, entry);
      break;
    case "protected":
      protectedModeEntry(sregs, regs, entry);
      break;
    case "paged32":
      paged32Entry(sregs, regs, entry, writePaged32PageTables(memory));
      break;
    case "long":
      longModeEntry(sregs, regs, entry, writeLongModePageTables(memory));
      break;
    case "linux64":
      linux64Entry(sregs, regs, entry, writeLongModePageTables(memory));
      break;
  }
  return { sregs, regs };
}
