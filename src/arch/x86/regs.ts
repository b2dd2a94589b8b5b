// Register state for entering guest code in each supported CPU mode, one small function per mode.
// The GDT and page tables they refer to are written by gdt.ts and paging.ts.

import { CR0_ET, CR0_PE, CR0_PG, CR4_PAE, CR4_PSE, EFER_LMA, EFER_LME } from "./cpu_mode.js";
import type { Regs, Segment, Sregs } from "./cpu_state.js";
import {
  GDT_LIMIT,
  LINUX_BOOT_CS,
  LINUX_BOOT_DS,
  LINUX_BOOT_GDT_LIMIT,
  SELECTOR_CODE32,
  SELECTOR_CODE64,
  SELECTOR_DATA,
  SELECTOR_TSS,
  segmentFor,
} from "./gdt.js";
import { BOOT_STACK_POINTER, GDT_ADDR } from "./layout.js";

/** RFLAGS bit 1 is reserved and always set. */
export const RFLAGS_RESERVED = 0x2n;

export const ENTRY_MODES = ["real", "protected", "paged32", "long"] as const;
export type EntryMode = (typeof ENTRY_MODES)[number];
/** How images the VMM loads may be entered: a mode, or Linux's 64-bit boot protocol (long mode, its own GDT). */
export type BootEntryMode = EntryMode | "linux64";

export function zeroRegs(): Regs {
  return {
    rax: 0n,
    rbx: 0n,
    rcx: 0n,
    rdx: 0n,
    rsi: 0n,
    rdi: 0n,
    rsp: 0n,
    rbp: 0n,
    r8: 0n,
    r9: 0n,
    r10: 0n,
    r11: 0n,
    r12: 0n,
    r13: 0n,
    r14: 0n,
    r15: 0n,
    rip: 0n,
    rflags: RFLAGS_RESERVED,
  };
}

/** A real-mode segment: base = selector * 16, 64 KiB limit, read/write (code segments get type 0xb). */
function realModeSegment(selector: number, code: boolean): Segment {
  return {
    base: BigInt(selector) << 4n,
    limit: 0xffff,
    selector,
    type: code ? 0xb : 0x3,
    present: 1,
    dpl: 0,
    db: 0,
    s: 1,
    l: 0,
    g: 0,
    avl: 0,
    unusable: 0,
  };
}

const DATA_SEGMENTS = ["ds", "es", "fs", "gs", "ss"] as const;

/**
 * Real mode at a physical entry address: CS:IP with CS as small as possible (CS=0 below 64 KiB, as the
 * classic demo expects), every data segment at base 0.
 */
export function realModeEntry(sregs: Sregs, regs: Regs, entry: number): void {
  const cs = entry <= 0xffff ? 0 : (entry >>> 4) & 0xf000;
  sregs.cs = realModeSegment(cs, true);
  for (const name of DATA_SEGMENTS) sregs[name] = realModeSegment(0, false);
  sregs.cr0 &= ~(CR0_PE | CR0_PG);
  regs.rip = BigInt(entry - cs * 16);
  regs.rflags = RFLAGS_RESERVED;
}

/** Flat 4 GiB 32-bit protected mode, paging off: the state Multiboot specifies. */
export function protectedModeEntry(sregs: Sregs, regs: Regs, entry: number): void {
  sregs.gdt = { base: BigInt(GDT_ADDR), limit: GDT_LIMIT };
  sregs.idt = { base: 0n, limit: 0 };
  sregs.cs = segmentFor(SELECTOR_CODE32);
  for (const name of DATA_SEGMENTS) sregs[name] = segmentFor(SELECTOR_DATA);
  sregs.tr = segmentFor(SELECTOR_TSS);
  sregs.cr0 = CR0_PE | CR0_ET;
  sregs.cr4 = 0n;
  sregs.efer = 0n;
  regs.rip = BigInt(entry);
  regs.rsp = BigInt(BOOT_STACK_POINTER);
  regs.rflags = RFLAGS_RESERVED;
}

/** Protected mode with 32-bit paging through 4 MiB pages; `cr3` is the page directory. */
export function paged32Entry(sregs: Sregs, regs: Regs, entry: number, cr3: bigint): void {
  protectedModeEntry(sregs, regs, entry);
  sregs.cr3 = cr3;
  sregs.cr4 = CR4_PSE;
  sregs.cr0 |= CR0_PG;
}

/** 64-bit long mode: 4-level paging from `cr3`, PAE, EFER.LME/LMA and a 64-bit code segment. */
export function longModeEntry(sregs: Sregs, regs: Regs, entry: number, cr3: bigint): void {
  protectedModeEntry(sregs, regs, entry);
  sregs.cs = segmentFor(SELECTOR_CODE64);
  sregs.cr3 = cr3;
  sregs.cr4 = CR4_PAE;
  sregs.cr0 |= CR0_PG;
  sregs.efer = EFER_LME | EFER_LMA;
}

/**
 * Linux's 64-bit boot protocol: long mode with the identity map from `cr3`, CS = __BOOT_CS and DS/ES/SS =
 * __BOOT_DS from the Linux boot GDT, interrupts off. RSI (the zero page) is the loader's to set.
 */
export function linux64Entry(sregs: Sregs, regs: Regs, entry: number, cr3: bigint): void {
  longModeEntry(sregs, regs, entry, cr3);
  sregs.gdt = { base: BigInt(GDT_ADDR), limit: LINUX_BOOT_GDT_LIMIT };
  sregs.cs = segmentFor(LINUX_BOOT_CS, "linux");
  for (const name of DATA_SEGMENTS) sregs[name] = segmentFor(LINUX_BOOT_DS, "linux");
}
