// The local APIC's register map (Intel SDM vol. 3, table 11-1 for xAPIC MMIO offsets, table 11-6 for the
// x2APIC MSRs, which are MSR 0x800 + offset / 16), the bits of its registers, and the 256-bit IRR/ISR/TMR.
import { LAPIC_VERSION } from "../../arch/x86/interrupt_topology.js";

// Register offsets in the xAPIC page.
export const REG_ID = 0x020;
export const REG_VERSION = 0x030;
export const REG_TPR = 0x080;
export const REG_APR = 0x090;
export const REG_PPR = 0x0a0;
export const REG_EOI = 0x0b0;
export const REG_RRD = 0x0c0;
export const REG_LDR = 0x0d0;
export const REG_DFR = 0x0e0;
export const REG_SVR = 0x0f0;
export const REG_ISR = 0x100;
export const REG_TMR = 0x180;
export const REG_IRR = 0x200;
/** ISR, TMR and IRR are eight 32-bit registers each, 16 bytes apart. */
export const VECTOR_REG_COUNT = 8;
export const REG_ESR = 0x280;
export const REG_ICR_LOW = 0x300;
export const REG_ICR_HIGH = 0x310;
export const REG_LVT_TIMER = 0x320;
export const REG_LVT_THERMAL = 0x330;
export const REG_LVT_PMC = 0x340;
export const REG_LVT_LINT0 = 0x350;
export const REG_LVT_LINT1 = 0x360;
export const REG_LVT_ERROR = 0x370;
export const REG_TIMER_INITIAL = 0x380;
export const REG_TIMER_CURRENT = 0x390;
export const REG_TIMER_DIVIDE = 0x3e0;
/** x2APIC only (MSR 0x83f). */
export const REG_SELF_IPI = 0x3f0;
export const APIC_PAGE_SIZE = 0x1000;
/** Registers are 32 bits wide at 16-byte strides. */
export const REG_STRIDE = 16;

// x2APIC MSRs.
export const X2APIC_MSR_FIRST = 0x800;
export const X2APIC_MSR_LAST = 0x8ff;
/** The TSC-deadline MSR (IA32_TSC_DEADLINE), owned by the timer but outside the x2APIC range. */
export const MSR_TSC_DEADLINE = 0x6e0;

export function msrToOffset(index: number): number {
  return (index - X2APIC_MSR_FIRST) * REG_STRIDE;
}

/**
 * Version register: version 0x14 (an integrated APIC, as KVM reports and the MP table says) and the index of
 * the last LVT entry, 5: timer, thermal, PMC, LINT0, LINT1 and error (no CMCI). EOI-broadcast suppression
 * (bit 24) is not offered, so SVR bit 12 is reserved.
 */
export const LVT_COUNT = 6;
export const VERSION_VALUE = ((LVT_COUNT - 1) << 16) | LAPIC_VERSION;

// IA32_APIC_BASE (MSR 0x1b).
export const APIC_BASE_BSP = 1 << 8;
export const APIC_BASE_EXTD = 1 << 10;
export const APIC_BASE_ENABLE = 1 << 11;
export const APIC_BASE_ADDR_MASK = 0xffff_f000;
/** The default base address, where the MP table and MADT put every local APIC. */
export const APIC_DEFAULT_BASE = 0xfee00000;
/** Bits 0-7 and 9 are reserved; so are those above the 52-bit physical address limit. */
export const APIC_BASE_RESERVED = 0xfff0_0000_0000_02ffn;

// Spurious-interrupt vector register.
export const SVR_VECTOR = 0xff;
export const SVR_ENABLE = 1 << 8;
export const SVR_FOCUS_DISABLE = 1 << 9;
export const SVR_WRITABLE = SVR_VECTOR | SVR_ENABLE | SVR_FOCUS_DISABLE;
export const SVR_RESET = 0xff;

export const DFR_RESET = 0xffffffff;
export const DFR_MODEL_SHIFT = 28;
export const LDR_XAPIC_MASK = 0xff000000;
export const ID_XAPIC_SHIFT = 24;

// LVT entries (SDM 11.5.1).
export const LVT_VECTOR = 0xff;
export const LVT_DELIVERY_MODE_SHIFT = 8;
export const LVT_DELIVERY_MODE = 0x700;
export const LVT_POLARITY_LOW = 1 << 13;
export const LVT_REMOTE_IRR = 1 << 14;
export const LVT_TRIGGER_LEVEL = 1 << 15;
export const LVT_MASKED = 1 << 16;
export const LVT_TIMER_MODE_SHIFT = 17;
export const LVT_TIMER_MODE = 3 << LVT_TIMER_MODE_SHIFT;
/** Writable bits of each LVT entry, by register: the timer has modes, LINTs polarity and trigger, error only a vector. */
export const LVT_WRITABLE: ReadonlyMap<number, number> = new Map([
  [REG_LVT_TIMER, LVT_VECTOR | LVT_MASKED | LVT_TIMER_MODE],
  [REG_LVT_THERMAL, LVT_VECTOR | LVT_DELIVERY_MODE | LVT_MASKED],
  [REG_LVT_PMC, LVT_VECTOR | LVT_DELIVERY_MODE | LVT_MASKED],
  [REG_LVT_LINT0, LVT_VECTOR | LVT_DELIVERY_MODE | LVT_POLARITY_LOW | LVT_TRIGGER_LEVEL | LVT_MASKED],
  [REG_LVT_LINT1, LVT_VECTOR | LVT_DELIVERY_MODE | LVT_POLARITY_LOW | LVT_TRIGGER_LEVEL | LVT_MASKED],
  [REG_LVT_ERROR, LVT_VECTOR | LVT_MASKED],
]);
export const LVT_REGISTERS: readonly number[] = [...LVT_WRITABLE.keys()];

// Error status register bits (SDM 11.5.3).
export const ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
export const ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;
export const ESR_ILLEGAL_REGISTER = 1 << 7;
/** Vectors 0-15 are reserved: sending or receiving one is an error, not an interrupt. */
export const FIRST_VALID_VECTOR = 16;

/** Priority class of a vector or a priority register: its high nibble. */
export function priorityClass(v: number): number {
  return (v >>> 4) & 0xf;
}

/** A 256-bit register (IRR, ISR, TMR): one bit per vector, in eight 32-bit words as the guest reads them. */
export class VectorSet {
  readonly words = new Uint32Array(VECTOR_REG_COUNT);

  has(vector: number): boolean {
    return ((this.words[vector >>> 5] ?? 0) & (1 << (vector & 31))) !== 0;
  }

  set(vector: number): void {
    const i = vector >>> 5;
    this.words[i] = (this.words[i] ?? 0) | (1 << (vector & 31));
  }

  clear(vector: number): void {
    const i = vector >>> 5;
    this.words[i] = (this.words[i] ?? 0) & ~(1 << (vector & 31));
  }

  assign(vector: number, on: boolean): void {
    if (on) this.set(vector);
    else this.clear(vector);
  }

  /** The highest vector set, or -1. */
  highest(): number {
    for (let i = VECTOR_REG_COUNT - 1; i >= 0; i--) {
      const w = this.words[i] ?? 0;
      if (w !== 0) return i * 32 + 31 - Math.clz32(w);
    }
    return -1;
  }

  reset(): void {
    this.words.fill(0);
  }
}

/** The #GP an x2APIC MSR access or an IA32_APIC_BASE write raises; the emulator turns it into the exception. */
export class ApicAccessFault extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ApicAccessFault";
  }
}
