// The interrupt controllers a guest is told about, in one place so that the MP table and the ACPI MADT
// cannot disagree: one local APIC per vCPU (APIC ID = vCPU index, which is KVM's default local APIC ID; vCPU 0
// is KVM's default boot CPU), one IOAPIC with the next free APIC ID, and the IOAPIC pin of each ISA IRQ.
//
// Where ISA IRQs arrive, under KVM_CREATE_IRQCHIP without KVM_SET_GSI_ROUTING: kvm_setup_default_irq_routing
// (arch/x86/kvm/irq_comm.c) routes GSI n to IOAPIC pin n for n < 24, and GSIs 0-15 also to the PIC pair
// (master pin n, slave pin n - 8). The in-kernel PIT raises GSI 0 (pit_do_work in arch/x86/kvm/i8254.c).
// So the timer reaches IOAPIC pin 0, not pin 2 as on a PC chipset: ISA IRQ n is IOAPIC pin n for all 16.
// Firecracker's MP table says the same. QEMU and Dragonball put IRQ0 on pin 2 only because they install their
// own routing table (GSI 0 -> IOAPIC pin 2); a table claiming pin 2 under KVM's default routing would send
// Linux's timer check through the 8259 fallback ("MP-BIOS bug: 8254 timer not connected to IO-APIC").

/** xAPIC IDs are 8 bits, 0xff is the broadcast ID, and the IOAPIC takes the ID after the last vCPU. */
export const MAX_VCPUS = 254;

/** KVM's local APIC version register (APIC_VERSION in arch/x86/kvm/lapic.c): an integrated xAPIC. */
export const LAPIC_VERSION = 0x14;
/** KVM's IOAPIC version register (IOAPIC_VERSION_ID in arch/x86/kvm/ioapic.h), with 24 pins. */
export const IOAPIC_VERSION = 0x11;
export const IOAPIC_PINS = 24;

/** IRQs 0-15 of the ISA bus (PIT on 0, keyboard 1, cascade 2, COM2 3, COM1 4, ..., RTC 8). */
export const ISA_IRQS = 16;

/** The local APIC inputs: LINT0 carries the 8259's INTR (ExtINT, virtual wire mode), LINT1 the NMI. */
export const LINT0 = 0;
export const LINT1 = 1;

// MPS interrupt input flags (MPS 1.4 table 4-8; ACPI reuses them as "MPS INTI flags"): polarity in bits 0-1,
// trigger mode in bits 2-3; 0 in either means "conforms to the bus" (ISA: active high, edge).
export const INTI_CONFORMING = 0;
export const INTI_POLARITY_HIGH = 0b01;
export const INTI_POLARITY_LOW = 0b11;
export const INTI_TRIGGER_EDGE = 0b01 << 2;
export const INTI_TRIGGER_LEVEL = 0b11 << 2;

/** Throws unless `cpus` is a vCPU count the APIC ID space can describe. */
export function checkVcpuCount(cpus: number): void {
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_VCPUS) {
    throw new RangeError(`vCPU count ${cpus} is not 1..${MAX_VCPUS}`);
  }
}

/** The IOAPIC's APIC ID: the first one after the vCPUs' local APICs. */
export function ioapicId(cpus: number): number {
  return cpus;
}

/** The IOAPIC pin (= ACPI GSI, with the IOAPIC's GSI base 0) an ISA IRQ arrives on: see the note above. */
export function isaIrqPin(irq: number): number {
  if (!Number.isInteger(irq) || irq < 0 || irq >= ISA_IRQS) throw new RangeError(`${irq} is not an ISA IRQ`);
  return irq;
}
