// The local APIC's registers as x2APIC MSRs (Intel SDM vol. 3, 11.12.1 and table 11-6): MSR 0x800 + offset/16,
// only in x2APIC mode. What changes from xAPIC: the ID and LDR are read-only, DFR, APR and remote read are
// gone, the ICR is one 64-bit MSR with a 32-bit destination, a self-IPI register appears, and every access the
// table does not allow raises #GP (ApicAccessFault here): reads of write-only and reserved MSRs, writes of
// read-only ones, non-zero upper halves, and non-zero writes to EOI and ESR.

import { ICR_X2APIC_RESERVED } from "./apic_icr.js";
import {
  ApicAccessFault,
  LVT_REGISTERS,
  msrToOffset,
  REG_EOI,
  REG_ESR,
  REG_ICR_LOW,
  REG_ID,
  REG_IRR,
  REG_ISR,
  REG_LDR,
  REG_PPR,
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
  X2APIC_MSR_FIRST,
  X2APIC_MSR_LAST,
} from "./apic_registers.js";
import type { LocalApic } from "./local_apic.js";
import { readRegister, writeRegister } from "./xapic_mmio.js";

const vectorRegs = (first: number) => Array.from({ length: VECTOR_REG_COUNT }, (_, i) => first + i * REG_STRIDE);

/** Offsets readable as x2APIC MSRs. */
const READABLE = new Set([
  REG_ID,
  REG_VERSION,
  REG_TPR,
  REG_PPR,
  REG_LDR,
  REG_SVR,
  ...vectorRegs(REG_ISR),
  ...vectorRegs(REG_TMR),
  ...vectorRegs(REG_IRR),
  REG_ESR,
  REG_ICR_LOW,
  ...LVT_REGISTERS,
  REG_TIMER_INITIAL,
  REG_TIMER_CURRENT,
  REG_TIMER_DIVIDE,
]);

/** Offsets writable as x2APIC MSRs (ICR aside, handled whole). */
const WRITABLE = new Set([
  REG_TPR,
  REG_EOI,
  REG_SVR,
  REG_ESR,
  ...LVT_REGISTERS,
  REG_TIMER_INITIAL,
  REG_TIMER_DIVIDE,
  REG_SELF_IPI,
]);

/** Registers whose only valid write is 0 (a non-zero write is #GP). */
const WRITE_ZERO_ONLY = new Set([REG_EOI, REG_ESR]);
const SELF_IPI_VECTOR = 0xff;
const LOW_HALF = 0xffff_ffffn;

function offsetOf(apic: LocalApic, index: number): number {
  if (!apic.x2apic) throw new ApicAccessFault(`x2APIC MSR 0x${index.toString(16)} outside x2APIC mode`);
  if (index < X2APIC_MSR_FIRST || index > X2APIC_MSR_LAST) {
    throw new ApicAccessFault(`MSR 0x${index.toString(16)} is not an x2APIC MSR`);
  }
  return msrToOffset(index);
}

export function readX2apicMsr(apic: LocalApic, index: number): bigint {
  const reg = offsetOf(apic, index);
  if (reg === REG_ICR_LOW) {
    const { low, high } = apic.icr;
    return (BigInt(high) << 32n) | BigInt(low);
  }
  const value = READABLE.has(reg) ? readRegister(apic, reg) : undefined;
  if (value === undefined) throw new ApicAccessFault(`RDMSR of x2APIC MSR 0x${index.toString(16)}`);
  return BigInt(value >>> 0);
}

export function writeX2apicMsr(apic: LocalApic, index: number, value: bigint): void {
  const reg = offsetOf(apic, index);
  const v = BigInt.asUintN(64, value);
  const fault = () => new ApicAccessFault(`WRMSR 0x${v.toString(16)} to x2APIC MSR 0x${index.toString(16)}`);
  if (reg === REG_ICR_LOW) {
    const low = Number(v & LOW_HALF);
    if (low & ICR_X2APIC_RESERVED) throw fault();
    apic.writeIcrHigh(Number(v >> 32n));
    apic.writeIcrLow(low);
    return;
  }
  if (!WRITABLE.has(reg) || v > LOW_HALF) throw fault();
  const low = Number(v);
  if (WRITE_ZERO_ONLY.has(reg) && low !== 0) throw fault();
  if (reg === REG_SELF_IPI && low & ~SELF_IPI_VECTOR) throw fault();
  writeRegister(apic, reg, low);
}
