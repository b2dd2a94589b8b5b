// ACPI tables (ACPI 6.3, chapter 5.2) describing a PC with legacy devices: the RSDP at ACPI_RSDP_ADDR (found by
// the 0xe0000-0xfffff scan), and from ACPI_TABLES_ADDR up a DSDT, FACS, FADT, MADT, RSDT and XSDT. The MADT
// carries the same interrupt topology as the MP table (interrupt_topology.ts).
//
// What a Linux guest makes of them: the MADT gives it its CPUs, the IOAPIC and the ISA routing at boot
// (acpi_boot_init). The FADT is a full (not hardware-reduced) one, because HW_REDUCED_ACPI makes Linux drop the
// PIC and the PIT. It announces the PM1a event and control blocks and the PM timer (devices/legacy/acpi_pm.ts,
// devices/irqchip/pm_timer.ts), and the reset register (0xcf9, value 6: reset_control.ts); the DSDT holds only
// \_S5, the sleep type that PM1a_CNT turns into a power-off. No GPE blocks: nothing raises the SCI.
import type { GuestMemory } from "../../memory/guest_memory.js";
import { alignUp, TableBytes } from "./firmware_bytes.js";
import {
  checkVcpuCount,
  INTI_CONFORMING,
  INTI_POLARITY_HIGH,
  INTI_TRIGGER_EDGE,
  INTI_TRIGGER_LEVEL,
  ioapicId,
  isaIrqPin,
  LINT1,
} from "./interrupt_topology.js";
import { ACPI_RSDP_ADDR, ACPI_TABLES_ADDR, ACPI_TABLES_END, IOAPIC_ADDR, LAPIC_ADDR } from "./layout.js";

// The fixed-hardware blocks the FADT announces, where the device models are (named here, not imported: the
// firmware tables know addresses, not device models; test/firmware_tables checks that they agree).
export const PM1A_EVT_BLK = 0x600;
const PM1_EVT_LEN = 4;
export const PM1A_CNT_BLK = 0x604;
const PM1_CNT_LEN = 2;
export const PM_TMR_BLK = 0x608;
const PM_TMR_LEN = 4;
/** SLP_TYP for S5 in PM1_CNT, which the DSDT's \_S5 package announces. */
export const S5_SLEEP_TYPE = 5;
/** The reset register: the Reset Control Register at 0xcf9, written 6 (SYS_RST | RST_CPU: a hard reset). */
export const RESET_REG_PORT = 0xcf9;
export const RESET_VALUE = 0x06;

const OEM_ID = "TSVMM";
const OEM_REVISION = 1;
const CREATOR_ID = "TSVM";
const CREATOR_REVISION = 1;
/** Every table starts on a 16-byte boundary (the FACS on 64, as it must). */
const TABLE_ALIGN = 16;

// RSDP (5.2.5.3), revision 2: the ACPI 2.0+ form with the XSDT address and an extended checksum.
const RSDP_SIGNATURE = "RSD PTR ";
const RSDP_SIZE = 36;
const RSDP_REVISION = 2;
const RSDP_CHECKSUM = 8;
const RSDP_V1_SIZE = 20; // the first checksum covers the ACPI 1.0 part only
const RSDP_OEM_ID = 9;
const RSDP_REV = 15;
const RSDP_RSDT_ADDR = 16;
const RSDP_LENGTH = 20;
const RSDP_XSDT_ADDR = 24;
const RSDP_EXTENDED_CHECKSUM = 32;

// System description table header (5.2.6), at the start of every table below but the FACS.
const HEADER_SIZE = 36;
const HEADER_LENGTH = 4;
const HEADER_REVISION = 8;
const HEADER_CHECKSUM = 9;
const HEADER_OEM_ID = 10;
const HEADER_OEM_TABLE_ID = 16;
const HEADER_OEM_REVISION = 24;
const HEADER_CREATOR_ID = 28;
const HEADER_CREATOR_REVISION = 32;
const OEM_ID_SIZE = 6;
const OEM_TABLE_ID_SIZE = 8;

const RSDT_REVISION = 1;
const XSDT_REVISION = 1;
/** Revision 2 and up: AML integers are 64 bits wide. */
const DSDT_REVISION = 2;

// FACS (5.2.10): required unless hardware-reduced; holds the waking vector and the global lock, all 0 here.
const FACS_SIGNATURE = "FACS";
const FACS_SIZE = 64;
const FACS_ALIGN = 64;
const FACS_LENGTH = 4;
const FACS_VERSION = 32;
const FACS_VERSION_CURRENT = 2;

// FADT (5.2.9), revision 6 minor 3: ACPI 6.3. Fields not written stay 0: no SMI command port (the platform is
// always in ACPI mode), no PM1/PM2/PM timer/GPE blocks, no reset register, no RTC century index.
const FADT_REVISION = 6;
const FADT_MINOR_VERSION = 3;
const FADT_SIZE = 276;
const FADT_FIRMWARE_CTRL = 36;
const FADT_DSDT = 40;
const FADT_SCI_INT = 46;
const FADT_PM1A_EVT_BLK = 56;
const FADT_PM1A_CNT_BLK = 64;
const FADT_PM_TMR_BLK = 76;
const FADT_PM1_EVT_LEN = 88;
const FADT_PM1_CNT_LEN = 89;
const FADT_PM_TMR_LEN = 91;
const FADT_P_LVL2_LAT = 96;
const FADT_P_LVL3_LAT = 98;
const FADT_IAPC_BOOT_ARCH = 109;
const FADT_FLAGS = 112;
const FADT_RESET_REG = 116;
const FADT_RESET_VALUE = 128;
const FADT_MINOR_VERSION_OFFSET = 131;
const FADT_X_FIRMWARE_CTRL = 132;
const FADT_X_DSDT = 140;
const FADT_X_PM1A_EVT_BLK = 148;
const FADT_X_PM1A_CNT_BLK = 172;
const FADT_X_PM_TMR_BLK = 208;
const FADT_HYPERVISOR_VENDOR = 268;
const HYPERVISOR_VENDOR_SIZE = 8;

/**
 * The SCI on ISA IRQ 9, as on PCs. It must not be 0: Linux treats the SCI as level/active-low unless an
 * override says otherwise, and an SCI of 0 would make the PIT's IRQ 0 level-triggered.
 */
export const SCI_IRQ = 9;
/** Latencies above 100 and 1000 microseconds say C2 and C3 are not supported. */
const C2_NOT_SUPPORTED = 101;
const C3_NOT_SUPPORTED = 1001;

// IA-PC boot architecture flags (5.2.9.3): ISA devices the OS may probe (PIC, PIT, RTC, serial ports) and an
// 8042; no VGA. The CMOS RTC is present (its "not present" bit stays clear).
const IAPC_LEGACY_DEVICES = 1 << 0;
const IAPC_8042 = 1 << 1;
const IAPC_VGA_NOT_PRESENT = 1 << 2;
const IAPC_BOOT_ARCH = IAPC_LEGACY_DEVICES | IAPC_8042 | IAPC_VGA_NOT_PRESENT;

// Fixed feature flags (5.2.9, table 5.10). HW_REDUCED_ACPI (bit 20) stays clear.
const FLAG_WBINVD = 1 << 0; // WBINVD flushes caches correctly: required of ACPI platforms
const FLAG_PROC_C1 = 1 << 2; // C1 (HLT) works on every processor
const FLAG_PWR_BUTTON = 1 << 4; // no fixed-feature power button
const FLAG_SLP_BUTTON = 1 << 5; // no fixed-feature sleep button
const FLAG_RESET_REG_SUP = 1 << 10; // the reset register is supported
const FADT_FLAGS_VALUE = FLAG_WBINVD | FLAG_PROC_C1 | FLAG_PWR_BUTTON | FLAG_SLP_BUTTON | FLAG_RESET_REG_SUP;

// Generic Address Structure (5.2.3.2): space ID, bit width, bit offset, access size, 64-bit address.
const GAS_SYSTEM_IO = 1;
const GAS_ACCESS_BYTE = 1;
const GAS_ACCESS_WORD = 2;
const GAS_ACCESS_DWORD = 3;
const BITS_PER_BYTE = 8;

// The DSDT's AML body (ACPI 6.3, 20.2): Name (_S5, Package (4) { S5, S5, 0, 0 }): SLP_TYPa, SLP_TYPb, reserved.
const AML_NAME_OP = 0x08;
const AML_PACKAGE_OP = 0x12;
const AML_BYTE_PREFIX = 0x0a;
const AML_ZERO_OP = 0x00;
const S5_PACKAGE_ELEMENTS = [AML_BYTE_PREFIX, S5_SLEEP_TYPE, AML_BYTE_PREFIX, S5_SLEEP_TYPE, AML_ZERO_OP, AML_ZERO_OP];
/** PkgLength (one byte, as the package is short) counts itself, NumElements and the elements. */
const S5_AML = [
  AML_NAME_OP,
  ..."_S5_".split("").map((c) => c.charCodeAt(0)),
  AML_PACKAGE_OP,
  2 + S5_PACKAGE_ELEMENTS.length,
  4,
  ...S5_PACKAGE_ELEMENTS,
];

// MADT (5.2.12), revision 5: ACPI 6.3, where Linux also honours the "online capable" processor flag.
const MADT_REVISION = 5;
const MADT_LOCAL_APIC_ADDR = 36;
const MADT_FLAGS = 40;
const MADT_ENTRIES = 44;
const MADT_PCAT_COMPAT = 1 << 0; // a dual 8259 is present: the OS masks it when it uses the IOAPIC

// Interrupt controller structure types and lengths (table 5.21 onwards).
const MADT_LOCAL_APIC = 0;
const MADT_LOCAL_APIC_SIZE = 8;
const MADT_IOAPIC = 1;
const MADT_IOAPIC_SIZE = 12;
const MADT_INTERRUPT_OVERRIDE = 2;
const MADT_INTERRUPT_OVERRIDE_SIZE = 10;
const MADT_LOCAL_APIC_NMI = 4;
const MADT_LOCAL_APIC_NMI_SIZE = 6;
const LOCAL_APIC_ENABLED = 1 << 0;
const ISA_BUS = 0;
const IOAPIC_GSI_BASE = 0;
/** ACPI processor UID meaning "all processors" in a Local APIC NMI structure. */
const ALL_PROCESSORS = 0xff;

/** A table with its header filled in; the caller fills the body, then calls `finishTable`. */
function table(signature: string, length: number, revision: number): TableBytes {
  const t = new TableBytes(length);
  t.text(0, signature, 4);
  t.u32(HEADER_LENGTH, length);
  t.u8(HEADER_REVISION, revision);
  t.text(HEADER_OEM_ID, OEM_ID, OEM_ID_SIZE);
  t.text(HEADER_OEM_TABLE_ID, `TSVM${signature}`, OEM_TABLE_ID_SIZE);
  t.u32(HEADER_OEM_REVISION, OEM_REVISION);
  t.text(HEADER_CREATOR_ID, CREATOR_ID, 4);
  t.u32(HEADER_CREATOR_REVISION, CREATOR_REVISION);
  return t;
}

function finishTable(t: TableBytes): TableBytes {
  t.checksum(HEADER_CHECKSUM);
  return t;
}

const DSDT_SIZE = HEADER_SIZE + S5_AML.length;

/** The DSDT: a header and the \_S5 object (no devices: see the note at the top). */
function dsdt(): TableBytes {
  const t = table("DSDT", DSDT_SIZE, DSDT_REVISION);
  S5_AML.forEach((b, i) => {
    t.u8(HEADER_SIZE + i, b);
  });
  return finishTable(t);
}

/** A Generic Address Structure for `bytes` bytes of I/O space at `port`. */
function ioAddress(t: TableBytes, at: number, port: number, bytes: number, access: number): void {
  t.u8(at, GAS_SYSTEM_IO);
  t.u8(at + 1, bytes * BITS_PER_BYTE);
  t.u8(at + 2, 0);
  t.u8(at + 3, access);
  t.u64(at + 4, port);
}

/** The FACS has no header and no checksum. */
function facs(): TableBytes {
  const t = new TableBytes(FACS_SIZE);
  t.text(0, FACS_SIGNATURE, 4);
  t.u32(FACS_LENGTH, FACS_SIZE);
  t.u8(FACS_VERSION, FACS_VERSION_CURRENT);
  return t;
}

function fadt(dsdtAddr: number, facsAddr: number): TableBytes {
  const t = table("FACP", FADT_SIZE, FADT_REVISION);
  // The 32- and 64-bit pointers agree, so ACPICA has no "32/64X address mismatch" to warn about.
  t.u32(FADT_FIRMWARE_CTRL, facsAddr);
  t.u64(FADT_X_FIRMWARE_CTRL, facsAddr);
  t.u32(FADT_DSDT, dsdtAddr);
  t.u64(FADT_X_DSDT, dsdtAddr);
  t.u16(FADT_SCI_INT, SCI_IRQ);
  // The fixed-hardware blocks, in both the 32-bit and the extended (GAS) forms, agreeing.
  t.u32(FADT_PM1A_EVT_BLK, PM1A_EVT_BLK);
  t.u8(FADT_PM1_EVT_LEN, PM1_EVT_LEN);
  ioAddress(t, FADT_X_PM1A_EVT_BLK, PM1A_EVT_BLK, PM1_EVT_LEN, GAS_ACCESS_WORD);
  t.u32(FADT_PM1A_CNT_BLK, PM1A_CNT_BLK);
  t.u8(FADT_PM1_CNT_LEN, PM1_CNT_LEN);
  ioAddress(t, FADT_X_PM1A_CNT_BLK, PM1A_CNT_BLK, PM1_CNT_LEN, GAS_ACCESS_WORD);
  t.u32(FADT_PM_TMR_BLK, PM_TMR_BLK);
  t.u8(FADT_PM_TMR_LEN, PM_TMR_LEN);
  ioAddress(t, FADT_X_PM_TMR_BLK, PM_TMR_BLK, PM_TMR_LEN, GAS_ACCESS_DWORD);
  ioAddress(t, FADT_RESET_REG, RESET_REG_PORT, 1, GAS_ACCESS_BYTE);
  t.u8(FADT_RESET_VALUE, RESET_VALUE);
  t.u16(FADT_P_LVL2_LAT, C2_NOT_SUPPORTED);
  t.u16(FADT_P_LVL3_LAT, C3_NOT_SUPPORTED);
  t.u16(FADT_IAPC_BOOT_ARCH, IAPC_BOOT_ARCH);
  t.u32(FADT_FLAGS, FADT_FLAGS_VALUE);
  t.u8(FADT_MINOR_VERSION_OFFSET, FADT_MINOR_VERSION);
  t.text(FADT_HYPERVISOR_VENDOR, OEM_ID, HYPERVISOR_VENDOR_SIZE);
  return finishTable(t);
}

/**
 * ISA IRQs the MADT states explicitly: IRQ0, because PCs usually move it to GSI 2 and here it stays on GSI 0
 * (see interrupt_topology.ts), and the SCI, level-triggered, which Linux would otherwise take as active low.
 * The SCI exists only under ACPI, so the MP table keeps IRQ 9 a plain ISA (edge) interrupt.
 */
const INTERRUPT_OVERRIDES = [
  { irq: 0, flags: INTI_POLARITY_HIGH | INTI_TRIGGER_EDGE },
  { irq: SCI_IRQ, flags: INTI_POLARITY_HIGH | INTI_TRIGGER_LEVEL },
];

function madtLength(cpus: number): number {
  return (
    MADT_ENTRIES +
    cpus * MADT_LOCAL_APIC_SIZE +
    MADT_IOAPIC_SIZE +
    INTERRUPT_OVERRIDES.length * MADT_INTERRUPT_OVERRIDE_SIZE +
    MADT_LOCAL_APIC_NMI_SIZE
  );
}

function madt(cpus: number): TableBytes {
  const t = table("APIC", madtLength(cpus), MADT_REVISION);
  t.u32(MADT_LOCAL_APIC_ADDR, LAPIC_ADDR);
  t.u32(MADT_FLAGS, MADT_PCAT_COMPAT);
  let at = MADT_ENTRIES;
  for (let apicId = 0; apicId < cpus; apicId++) {
    t.u8(at, MADT_LOCAL_APIC);
    t.u8(at + 1, MADT_LOCAL_APIC_SIZE);
    t.u8(at + 2, apicId); // ACPI processor UID
    t.u8(at + 3, apicId);
    t.u32(at + 4, LOCAL_APIC_ENABLED);
    at += MADT_LOCAL_APIC_SIZE;
  }
  t.u8(at, MADT_IOAPIC);
  t.u8(at + 1, MADT_IOAPIC_SIZE);
  t.u8(at + 2, ioapicId(cpus));
  t.u32(at + 4, IOAPIC_ADDR);
  t.u32(at + 8, IOAPIC_GSI_BASE);
  at += MADT_IOAPIC_SIZE;
  for (const { irq, flags } of INTERRUPT_OVERRIDES) {
    t.u8(at, MADT_INTERRUPT_OVERRIDE);
    t.u8(at + 1, MADT_INTERRUPT_OVERRIDE_SIZE);
    t.u8(at + 2, ISA_BUS);
    t.u8(at + 3, irq);
    t.u32(at + 4, IOAPIC_GSI_BASE + isaIrqPin(irq));
    t.u16(at + 8, flags);
    at += MADT_INTERRUPT_OVERRIDE_SIZE;
  }
  t.u8(at, MADT_LOCAL_APIC_NMI);
  t.u8(at + 1, MADT_LOCAL_APIC_NMI_SIZE);
  t.u8(at + 2, ALL_PROCESSORS);
  t.u16(at + 3, INTI_CONFORMING);
  t.u8(at + 5, LINT1);
  return finishTable(t);
}

/** The RSDT (32-bit entries, for ACPI 1.0 guests) or the XSDT (64-bit entries). */
function rootTable(signature: "RSDT" | "XSDT", tables: readonly number[]): TableBytes {
  const entrySize = signature === "RSDT" ? 4 : 8;
  const t = table(
    signature,
    HEADER_SIZE + tables.length * entrySize,
    signature === "RSDT" ? RSDT_REVISION : XSDT_REVISION,
  );
  tables.forEach((addr, i) => {
    if (entrySize === 4) t.u32(HEADER_SIZE + i * 4, addr);
    else t.u64(HEADER_SIZE + i * 8, addr);
  });
  return finishTable(t);
}

function rsdp(rsdtAddr: number, xsdtAddr: number): TableBytes {
  const t = new TableBytes(RSDP_SIZE);
  t.text(0, RSDP_SIGNATURE, 8);
  t.text(RSDP_OEM_ID, OEM_ID, OEM_ID_SIZE);
  t.u8(RSDP_REV, RSDP_REVISION);
  t.u32(RSDP_RSDT_ADDR, rsdtAddr);
  t.u32(RSDP_LENGTH, RSDP_SIZE);
  t.u64(RSDP_XSDT_ADDR, xsdtAddr);
  t.checksum(RSDP_CHECKSUM, RSDP_V1_SIZE);
  t.checksum(RSDP_EXTENDED_CHECKSUM);
  return t;
}

/**
 * Writes the RSDP at ACPI_RSDP_ADDR and the tables from ACPI_TABLES_ADDR up. Throws a RangeError for a vCPU
 * count outside 1..254 or tables that would pass ACPI_TABLES_END, before writing anything.
 */
export function writeAcpiTables(memory: GuestMemory, cpus: number): void {
  checkVcpuCount(cpus);
  let cursor = ACPI_TABLES_ADDR;
  const place = (size: number, align = TABLE_ALIGN): number => {
    const addr = alignUp(cursor, align);
    cursor = addr + size;
    return addr;
  };
  const dsdtAddr = place(DSDT_SIZE);
  const facsAddr = place(FACS_SIZE, FACS_ALIGN);
  const fadtAddr = place(FADT_SIZE);
  const madtAddr = place(madtLength(cpus));
  const described = [fadtAddr, madtAddr];
  const rsdtAddr = place(HEADER_SIZE + described.length * 4);
  const xsdtAddr = place(HEADER_SIZE + described.length * 8);
  if (cursor > ACPI_TABLES_END) {
    throw new RangeError(
      `the ACPI tables for ${cpus} vCPUs end at 0x${cursor.toString(16)}, past 0x${ACPI_TABLES_END.toString(16)}`,
    );
  }

  const placed: [number, TableBytes][] = [
    [dsdtAddr, dsdt()],
    [facsAddr, facs()],
    [fadtAddr, fadt(dsdtAddr, facsAddr)],
    [madtAddr, madt(cpus)],
    [rsdtAddr, rootTable("RSDT", described)],
    [xsdtAddr, rootTable("XSDT", described)],
    [ACPI_RSDP_ADDR, rsdp(rsdtAddr, xsdtAddr)],
  ];
  for (const [addr, t] of placed) memory.write(addr, t.bytes);
}
