// The local vector table (Intel SDM vol. 3, 11.5.1): how the APIC's own interrupt sources (timer, thermal
// sensor, performance counters, the LINT0/LINT1 pins, errors) signal, and the state of the two LINT pins.
// NMI, SMI and INIT are edge-triggered; ExtINT is level-sensitive (pending while LINT0 is asserted); a fixed
// LINT may be level-triggered, and then requests its vector once per EOI (Remote IRR).
import { DeliveryMode } from "./apic_message.js";
import {
  LVT_COUNT,
  LVT_DELIVERY_MODE_SHIFT,
  LVT_MASKED,
  LVT_POLARITY_LOW,
  LVT_REMOTE_IRR,
  LVT_TRIGGER_LEVEL,
  LVT_VECTOR,
  LVT_WRITABLE,
  REG_LVT_ERROR,
  REG_LVT_LINT0,
  REG_LVT_TIMER,
  REG_STRIDE,
} from "./apic_registers.js";

export const LINT_COUNT = 2;

/** An LVT entry fires: a fixed vector (edge or level), or an NMI, SMI or INIT. Returns whether it was accepted. */
export type LvtSignal = (mode: DeliveryMode, vector: number, level: boolean) => boolean;

const slot = (reg: number): number => (reg - REG_LVT_TIMER) / REG_STRIDE;
const lintReg = (n: number): number => REG_LVT_LINT0 + n * REG_STRIDE;

/** Whether `reg` is an LVT register offset (timer, thermal, PMC, LINT0, LINT1, error). */
export function isLvtRegister(reg: number): boolean {
  return LVT_WRITABLE.has(reg);
}

export class LocalVectorTable {
  private readonly entries = new Uint32Array(LVT_COUNT);
  /** The electrical level of LINT0 and LINT1, before polarity applies. */
  private readonly lintLevel = [false, false];

  constructor(private readonly signal: LvtSignal) {
    this.reset(false);
  }

  get(reg: number): number {
    return this.entries[slot(reg)] ?? 0;
  }

  /** A guest write: only the entry's writable bits change; a software-disabled APIC keeps the mask set. */
  write(reg: number, value: number, softwareEnabled: boolean): void {
    const old = this.get(reg);
    let entry = (value & (LVT_WRITABLE.get(reg) ?? 0)) | (old & LVT_REMOTE_IRR);
    if (!softwareEnabled) entry |= LVT_MASKED;
    this.entries[slot(reg)] = entry;
    if (reg === lintReg(0) || reg === lintReg(1)) this.evaluateLevel((reg - REG_LVT_LINT0) / REG_STRIDE);
  }

  /** Software disable (SVR bit 8 cleared) masks every entry. */
  maskAll(): void {
    for (let i = 0; i < LVT_COUNT; i++) this.entries[i] = (this.entries[i] ?? 0) | LVT_MASKED;
  }

  isMasked(reg: number): boolean {
    return (this.get(reg) & LVT_MASKED) !== 0;
  }

  /** Power-on and INIT state: all masked; the boot CPU's LINT0 in ExtINT unmasked (KVM's LINT0_REENABLED quirk). */
  reset(bsp: boolean, keepLintLevels = false): void {
    this.entries.fill(LVT_MASKED);
    if (bsp) this.entries[slot(REG_LVT_LINT0)] = DeliveryMode.EXTINT << LVT_DELIVERY_MODE_SHIFT;
    if (!keepLintLevels) this.lintLevel.fill(false);
  }

  /** The raw level of LINTn (the CPU's INTR and NMI pins when the APIC is globally disabled). */
  lintRaw(n: number): boolean {
    return this.lintLevel[n] === true;
  }

  /** Drives LINTn to an electrical level; returns whether its asserted state rose (for the disabled-APIC NMI pin). */
  setLint(n: number, level: boolean, apicEnabled: boolean): boolean {
    const was = this.lintAsserted(n);
    this.lintLevel[n] = level;
    const now = this.lintAsserted(n);
    if (!apicEnabled) return now && !was;
    const entry = this.get(lintReg(n));
    const mode = deliveryMode(entry);
    if (mode === DeliveryMode.EXTINT) return now && !was;
    if (mode === DeliveryMode.FIXED && entry & LVT_TRIGGER_LEVEL) this.evaluateLevel(n);
    else if (now && !was) this.fire(lintReg(n));
    return now && !was;
  }

  /** LINT0 in ExtINT mode, unmasked and asserted: the 8259's INTR reaches the CPU. */
  extIntAsserted(): boolean {
    const entry = this.get(lintReg(0));
    return !(entry & LVT_MASKED) && deliveryMode(entry) === DeliveryMode.EXTINT && this.lintAsserted(0);
  }

  /** Signals through entry `reg` unless masked: the timer and error entries are always fixed and edge. */
  fire(reg: number): void {
    const entry = this.get(reg);
    if (entry & LVT_MASKED) return;
    const mode = reg === REG_LVT_TIMER || reg === REG_LVT_ERROR ? DeliveryMode.FIXED : deliveryMode(entry);
    if (mode !== DeliveryMode.EXTINT) this.signal(mode, entry & LVT_VECTOR, false);
  }

  /** EOI of `vector`: a level LINT using it drops Remote IRR and signals again if still asserted. */
  eoi(vector: number): void {
    for (let n = 0; n < LINT_COUNT; n++) {
      const entry = this.get(lintReg(n));
      if (!(entry & LVT_REMOTE_IRR) || (entry & LVT_VECTOR) !== vector) continue;
      this.entries[slot(lintReg(n))] = entry & ~LVT_REMOTE_IRR;
      this.evaluateLevel(n);
    }
  }

  private lintAsserted(n: number): boolean {
    const activeLow = (this.get(lintReg(n)) & LVT_POLARITY_LOW) !== 0;
    return this.lintLevel[n] !== activeLow;
  }

  private evaluateLevel(n: number): void {
    const entry = this.get(lintReg(n));
    const fixedLevel = deliveryMode(entry) === DeliveryMode.FIXED && (entry & LVT_TRIGGER_LEVEL) !== 0;
    if (!fixedLevel || entry & (LVT_MASKED | LVT_REMOTE_IRR) || !this.lintAsserted(n)) return;
    if (this.signal(DeliveryMode.FIXED, entry & LVT_VECTOR, true)) {
      this.entries[slot(lintReg(n))] = entry | LVT_REMOTE_IRR;
    }
  }
}

function deliveryMode(entry: number): DeliveryMode {
  return ((entry >>> LVT_DELIVERY_MODE_SHIFT) & 7) as DeliveryMode;
}
