// The MSRs that belong to the local APIC when the machine has one: IA32_APIC_BASE, IA32_TSC_DEADLINE and the
// x2APIC registers (0x800-0x8ff). The APIC model says which accesses are illegal; they become #GP here.
import { ApicAccessFault, MSR_TSC_DEADLINE } from "../../devices/irqchip/apic_registers.js";
import type { LocalApic } from "../../devices/irqchip/local_apic.js";
import { gp } from "./fault.js";

const MSR_APIC_BASE = 0x1b;
const X2APIC_FIRST = 0x800;
const X2APIC_LAST = 0x8ff;

export function isApicMsr(index: number): boolean {
  return index === MSR_APIC_BASE || index === MSR_TSC_DEADLINE || (index >= X2APIC_FIRST && index <= X2APIC_LAST);
}

function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ApicAccessFault) return gp(0);
    throw e;
  }
}

export function readApicMsr(apic: LocalApic, index: number): bigint {
  if (index === MSR_APIC_BASE) return apic.apicBase;
  if (index === MSR_TSC_DEADLINE) return apic.tscDeadline;
  return guarded(() => apic.readMsr(index));
}

export function writeApicMsr(apic: LocalApic, index: number, value: bigint): void {
  guarded(() => {
    if (index === MSR_APIC_BASE) apic.setApicBase(value);
    else if (index === MSR_TSC_DEADLINE) apic.setTscDeadline(value);
    else apic.writeMsr(index, value);
  });
}
