// The local APIC's registers by offset (Intel SDM vol. 3, table 11-1), shared by the xAPIC MMIO page and the
// x2APIC MSRs, and the MMIO page itself: 32-bit registers at 16-byte strides. As in KVM, a write narrower than
// 32 bits or not at a register's start is dropped; reads of any width see the register's bytes.
import { isLvtRegister } from "./apic_lvt.js";
import {
  APIC_PAGE_SIZE,
  ESR_ILLEGAL_REGISTER,
  REG_APR,
  REG_DFR,
  REG_EOI,
  REG_ESR,
  REG_ICR_HIGH,
  REG_ICR_LOW,
  REG_ID,
  REG_IRR,
  REG_ISR,
  REG_LDR,
  REG_PPR,
  REG_RRD,
  REG_SELF_IPI,
  REG_STRIDE,
  REG_SVR,
  REG_TIMER_CURRENT,
  REG_TIMER_DIVIDE,
  REG_TIMER_INITIAL,
  REG_TMR,
  REG_TPR,
  REG_VERSION,
  VECTOR_REG_COUNT,
  VERSION_VALUE,
  type VectorSet,
} from "./apic_registers.js";
import type { LocalApic } from "./local_apic.js";
import { putBytes } from "./register_bytes.js";

const REGISTER_BYTES = 4;

function vectorWord(set: VectorSet, reg: number, first: number): number | undefined {
  const i = (reg - first) / REG_STRIDE;
  return i >= 0 && i < VECTOR_REG_COUNT ? set.words[i] : undefined;
}

/** A register's value by offset, or undefined for a reserved offset. Write-only EOI reads as 0. */
export function readRegister(apic: LocalApic, reg: number): number | undefined {
  switch (reg) {
    case REG_ID:
      return apic.address.id;
    case REG_VERSION:
      return VERSION_VALUE;
    case REG_TPR:
      return apic.tpr;
    case REG_APR:
      return apic.arbitrationPriority;
    case REG_PPR:
      return apic.priority.ppr;
    case REG_EOI:
    case REG_RRD: // remote read is not supported: always invalid, reads 0
      return 0;
    case REG_LDR:
      return apic.address.ldr;
    case REG_DFR:
      return apic.address.dfr;
    case REG_SVR:
      return apic.svr;
    case REG_ESR:
      return apic.esr;
    case REG_ICR_LOW:
      return apic.icr.low;
    case REG_ICR_HIGH:
      return apic.icr.high;
    case REG_TIMER_INITIAL:
      return apic.timer.initialCount;
    case REG_TIMER_CURRENT:
      return apic.timer.currentCount();
    case REG_TIMER_DIVIDE:
      return apic.timer.divideConfiguration;
  }
  if (isLvtRegister(reg)) return apic.lvt.get(reg);
  const { isr, tmr, irr } = apic.priority;
  return vectorWord(isr, reg, REG_ISR) ?? vectorWord(tmr, reg, REG_TMR) ?? vectorWord(irr, reg, REG_IRR);
}

/** Writes a register by offset; returns false for an offset with nothing writable (read-only or reserved). */
export function writeRegister(apic: LocalApic, reg: number, value: number): boolean {
  switch (reg) {
    case REG_ID:
      apic.address.writeId(value);
      return true;
    case REG_TPR:
      apic.tpr = value;
      return true;
    case REG_EOI:
      apic.eoi();
      return true;
    case REG_LDR:
      apic.address.writeLdr(value);
      return true;
    case REG_DFR:
      apic.address.writeDfr(value);
      return true;
    case REG_SVR:
      apic.writeSvr(value);
      return true;
    case REG_ESR:
      apic.writeEsr();
      return true;
    case REG_ICR_LOW:
      apic.writeIcrLow(value);
      return true;
    case REG_ICR_HIGH:
      apic.writeIcrHigh(value);
      return true;
    case REG_TIMER_INITIAL:
      apic.writeTimerInitial(value);
      return true;
    case REG_TIMER_DIVIDE:
      apic.writeTimerDivide(value);
      return true;
    case REG_SELF_IPI:
      apic.selfIpi(value & 0xff);
      return true;
  }
  if (!isLvtRegister(reg)) return false;
  apic.writeLvt(reg, value);
  return true;
}

/** A read of the xAPIC page. Outside xAPIC mode the page is not decoded and reads as all ones. */
export function readXapicMmio(apic: LocalApic, offset: number, data: Uint8Array): void {
  if (apic.mode !== "xapic" || offset < 0 || offset >= APIC_PAGE_SIZE) {
    data.fill(0xff);
    return;
  }
  const reg = offset & ~(REG_STRIDE - 1);
  const value = reg === REG_SELF_IPI ? undefined : readRegister(apic, reg);
  if (value === undefined) apic.error(ESR_ILLEGAL_REGISTER);
  const at = offset & (REG_STRIDE - 1);
  if (at >= REGISTER_BYTES) data.fill(0);
  else putBytes(data, at, value ?? 0);
}

/** A write to the xAPIC page: a whole register at its start, or nothing. */
export function writeXapicMmio(apic: LocalApic, offset: number, data: Uint8Array): void {
  if (apic.mode !== "xapic" || offset < 0 || offset >= APIC_PAGE_SIZE) return;
  if (offset & (REG_STRIDE - 1) || data.length < REGISTER_BYTES) return;
  const value = ((data[0] ?? 0) | ((data[1] ?? 0) << 8) | ((data[2] ?? 0) << 16) | ((data[3] ?? 0) << 24)) >>> 0;
  if (offset === REG_SELF_IPI || (!writeRegister(apic, offset, value) && readRegister(apic, offset) === undefined)) {
    apic.error(ESR_ILLEGAL_REGISTER);
  }
}
