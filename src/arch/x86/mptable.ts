// Intel MultiProcessor Specification 1.4 (chapter 4): the MP floating pointer structure and the MP
// configuration table, for guests that find their CPUs, IOAPIC and ISA interrupt routing without ACPI (Linux
// with acpi=off, small test kernels). Linux scans the last KiB of base memory, 639 KiB = MPTABLE_ADDR, for
// "_MP_" on 16-byte boundaries. What the tables say comes from interrupt_topology.ts.
import type { GuestMemory } from "../../memory/guest_memory.js";
import { TableBytes } from "./firmware_bytes.js";
import {
  checkVcpuCount,
  INTI_CONFORMING,
  IOAPIC_VERSION,
  ISA_IRQS,
  ioapicId,
  isaIrqPin,
  LAPIC_VERSION,
  LINT0,
  LINT1,
} from "./interrupt_topology.js";
import { IOAPIC_ADDR, LAPIC_ADDR, MPTABLE_ADDR, MPTABLE_END } from "./layout.js";

const MP_SPEC_REV_1_4 = 4;

// MP floating pointer structure (table 4-1): one 16-byte paragraph, 16-byte aligned.
const MPF_SIGNATURE = "_MP_";
const MPF_SIZE = 16;
const MPF_PHYS_POINTER = 4;
const MPF_LENGTH = 8; // in paragraphs
const MPF_SPEC_REV = 9;
const MPF_CHECKSUM = 10;
// Feature bytes 1-5 (offsets 11-15) stay 0: a configuration table is present (no default configuration), and
// feature byte 2 bit 7 (IMCR) clear means virtual wire mode: tsvmm has no IMCR at ports 0x22/0x23.

// MP configuration table header (table 4-2). The OEM table pointer and size, and the extended table length
// and checksum, stay 0: there are none.
const MPC_SIGNATURE = "PCMP";
const MPC_HEADER_SIZE = 44;
const MPC_BASE_TABLE_LENGTH = 4;
const MPC_SPEC_REV = 6;
const MPC_CHECKSUM = 7;
const MPC_OEM_ID = 8;
const MPC_OEM_ID_SIZE = 8;
const MPC_PRODUCT_ID = 16;
const MPC_PRODUCT_ID_SIZE = 12;
const MPC_ENTRY_COUNT = 34;
const MPC_LOCAL_APIC_ADDR = 36;

const OEM_ID = "TSVMM";
const PRODUCT_ID = "KVM GUEST";

// Base table entry types (table 4-3), in the order the specification requires them to appear.
const ENTRY_PROCESSOR = 0;
const ENTRY_BUS = 1;
const ENTRY_IOAPIC = 2;
const ENTRY_IO_INTERRUPT = 3;
const ENTRY_LOCAL_INTERRUPT = 4;
const PROCESSOR_ENTRY_SIZE = 20;
const ENTRY_SIZE = 8; // every other entry type

// Processor entry (table 4-4).
const CPU_FLAG_ENABLED = 1 << 0;
const CPU_FLAG_BOOT_PROCESSOR = 1 << 1;
/** CPUID.1 EAX as the MP table reports it: family 6, model 0, stepping 0 (any P6-class processor). */
const CPU_SIGNATURE = 0x600;
/** CPUID.1 EDX bits the specification asks for: FPU (bit 0) and an on-chip APIC (bit 9). */
const CPU_FEATURE_FLAGS = (1 << 0) | (1 << 9);

// Bus entry (table 4-5): the bus type string is space-padded to 6 bytes (table 4-6).
const BUS_ID_ISA = 0;
const BUS_TYPE_ISA = "ISA";
const BUS_TYPE_SIZE = 6;

// IOAPIC entry (table 4-7).
const IOAPIC_FLAG_ENABLED = 1 << 0;

// Interrupt types of I/O and local interrupt entries (table 4-9).
const INT_TYPE_INT = 0;
const INT_TYPE_NMI = 1;
const INT_TYPE_EXTINT = 3;
/** Destination local APIC ID meaning "every local APIC" (table 4-12). */
const ALL_LOCAL_APICS = 0xff;

function processorEntry(apicId: number): TableBytes {
  const e = new TableBytes(PROCESSOR_ENTRY_SIZE);
  e.u8(0, ENTRY_PROCESSOR);
  e.u8(1, apicId);
  e.u8(2, LAPIC_VERSION);
  e.u8(3, CPU_FLAG_ENABLED | (apicId === 0 ? CPU_FLAG_BOOT_PROCESSOR : 0));
  e.u32(4, CPU_SIGNATURE);
  e.u32(8, CPU_FEATURE_FLAGS);
  return e;
}

function busEntry(busId: number, busType: string): TableBytes {
  const e = new TableBytes(ENTRY_SIZE);
  e.u8(0, ENTRY_BUS);
  e.u8(1, busId);
  e.text(2, busType, BUS_TYPE_SIZE);
  return e;
}

function ioapicEntry(id: number): TableBytes {
  const e = new TableBytes(ENTRY_SIZE);
  e.u8(0, ENTRY_IOAPIC);
  e.u8(1, id);
  e.u8(2, IOAPIC_VERSION);
  e.u8(3, IOAPIC_FLAG_ENABLED);
  e.u32(4, IOAPIC_ADDR);
  return e;
}

/** I/O interrupt (table 4-8) and local interrupt (table 4-10) entries share one layout. */
function interruptEntry(
  entryType: number,
  intType: number,
  sourceIrq: number,
  destinationApic: number,
  destinationPin: number,
): TableBytes {
  const e = new TableBytes(ENTRY_SIZE);
  e.u8(0, entryType);
  e.u8(1, intType);
  e.u16(2, INTI_CONFORMING); // ISA: active high, edge triggered
  e.u8(4, BUS_ID_ISA);
  e.u8(5, sourceIrq);
  e.u8(6, destinationApic);
  e.u8(7, destinationPin);
  return e;
}

function entries(cpus: number): TableBytes[] {
  const list: TableBytes[] = [];
  for (let apicId = 0; apicId < cpus; apicId++) list.push(processorEntry(apicId));
  list.push(busEntry(BUS_ID_ISA, BUS_TYPE_ISA));
  list.push(ioapicEntry(ioapicId(cpus)));
  for (let irq = 0; irq < ISA_IRQS; irq++) {
    list.push(interruptEntry(ENTRY_IO_INTERRUPT, INT_TYPE_INT, irq, ioapicId(cpus), isaIrqPin(irq)));
  }
  // Virtual wire mode: the 8259's INTR on LINT0 (Linux uses it on the boot CPU only), NMI on LINT1.
  list.push(interruptEntry(ENTRY_LOCAL_INTERRUPT, INT_TYPE_EXTINT, 0, ALL_LOCAL_APICS, LINT0));
  list.push(interruptEntry(ENTRY_LOCAL_INTERRUPT, INT_TYPE_NMI, 0, ALL_LOCAL_APICS, LINT1));
  return list;
}

/**
 * Writes the MP floating pointer at MPTABLE_ADDR and the configuration table right after it. Throws a
 * RangeError for a vCPU count outside 1..254 or one whose table would pass MPTABLE_END (more than 40 vCPUs
 * in the 1 KiB the layout gives it).
 */
export function writeMpTable(memory: GuestMemory, cpus: number): void {
  checkVcpuCount(cpus);
  const body = entries(cpus);
  const tableAddr = MPTABLE_ADDR + MPF_SIZE;
  const tableLength = MPC_HEADER_SIZE + body.reduce((sum, e) => sum + e.length, 0);
  if (tableAddr + tableLength > MPTABLE_END) {
    throw new RangeError(
      `the MP table for ${cpus} vCPUs (0x${(MPF_SIZE + tableLength).toString(16)} bytes) does not fit ` +
        `at 0x${MPTABLE_ADDR.toString(16)}-0x${MPTABLE_END.toString(16)}`,
    );
  }

  const table = new TableBytes(tableLength);
  table.text(0, MPC_SIGNATURE, 4);
  table.u16(MPC_BASE_TABLE_LENGTH, tableLength);
  table.u8(MPC_SPEC_REV, MP_SPEC_REV_1_4);
  table.text(MPC_OEM_ID, OEM_ID, MPC_OEM_ID_SIZE);
  table.text(MPC_PRODUCT_ID, PRODUCT_ID, MPC_PRODUCT_ID_SIZE);
  table.u16(MPC_ENTRY_COUNT, body.length);
  table.u32(MPC_LOCAL_APIC_ADDR, LAPIC_ADDR);
  let at = MPC_HEADER_SIZE;
  for (const e of body) {
    table.put(at, e);
    at += e.length;
  }
  table.checksum(MPC_CHECKSUM);

  const floating = new TableBytes(MPF_SIZE);
  floating.text(0, MPF_SIGNATURE, 4);
  floating.u32(MPF_PHYS_POINTER, tableAddr);
  floating.u8(MPF_LENGTH, MPF_SIZE / 16);
  floating.u8(MPF_SPEC_REV, MP_SPEC_REV_1_4);
  floating.checksum(MPF_CHECKSUM);

  memory.write(MPTABLE_ADDR, floating.bytes);
  memory.write(tableAddr, table.bytes);
}
