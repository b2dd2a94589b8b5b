// Register state for entering guest code in each supported CPU mode.
import type { Regs, Segment, Sregs } from "../../kvm/structs.js";
import { CR0_PE, CR0_PG } from "./cpu_mode.js";

/** RFLAGS bit 1 is reserved and always set. */
export const RFLAGS_RESERVED = 0x2n;

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

/**
 * Real mode at a physical entry address: CS:IP with CS as small as possible (CS=0 below 64 KiB, as the
 * classic demo expects), every data segment at base 0.
 */
export function realModeEntry(sregs: Sregs, regs: Regs, entry: number): void {
  const cs = entry <= 0xffff ? 0 : (entry >>> 4) & 0xf000;
  sregs.cs = realModeSegment(cs, true);
  for (const name of ["ds", "es", "fs", "gs", "ss"] as const) sregs[name] = realModeSegment(0, false);
  sregs.cr0 &= ~(CR0_PE | CR0_PG);
  regs.rip = BigInt(entry - cs * 16);
  regs.rflags = RFLAGS_RESERVED;
}
