// The MP table and the ACPI tables, read back the way a guest finds them: scan for the signature on 16-byte
// boundaries, verify every checksum, and follow the pointers. The parsers here are written from the
// specifications, independently of the builders.
import assert from "node:assert/strict";
import { test } from "node:test";
import { writeAcpiTables } from "../src/arch/x86/acpi.js";
import { writeMpTable } from "../src/arch/x86/mptable.js";
import { PM_TIMER_PORT, PM_TIMER_SIZE } from "../src/devices/irqchip/pm_timer.js";
import {
  ACPI_PM1_CNT_LEN,
  ACPI_PM1_EVT_LEN,
  ACPI_PM1A_CNT_PORT,
  ACPI_PM1A_EVT_PORT,
  SLP_TYP_S5,
} from "../src/devices/legacy/acpi_pm.js";
import { GuestMemory } from "../src/memory/guest_memory.js";

const IOAPIC_ADDR = 0xfec00000;
const LAPIC_ADDR = 0xfee00000;

function withMemory(body: (mem: GuestMemory) => void): void {
  const mem = GuestMemory.createShared([{ gpa: 0, size: 1 << 20 }]);
  try {
    body(mem);
  } finally {
    mem.close();
  }
}

function sum8(bytes: Uint8Array): number {
  return bytes.reduce((s, b) => (s + b) & 0xff, 0);
}

function ascii(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

/** A little-endian reader over a copy of guest memory. */
class Bytes {
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  static at(mem: GuestMemory, gpa: number, length: number): Bytes {
    return new Bytes(mem.read(gpa, length));
  }
  u8(o: number): number {
    return this.view.getUint8(o);
  }
  u16(o: number): number {
    return this.view.getUint16(o, true);
  }
  u32(o: number): number {
    return this.view.getUint32(o, true);
  }
  u64(o: number): number {
    return Number(this.view.getBigUint64(o, true));
  }
  text(o: number, n: number): string {
    return ascii(this.bytes.subarray(o, o + n));
  }
}

/** Every 16-byte boundary in [start, end) where `signature` begins. */
function scan(mem: GuestMemory, start: number, end: number, signature: string): number[] {
  const found: number[] = [];
  for (let gpa = start; gpa + signature.length <= end; gpa += 16) {
    if (ascii(mem.read(gpa, signature.length)) === signature) found.push(gpa);
  }
  return found;
}

// ---- MP table (MPS 1.4, chapter 4) ----

interface MpTable {
  floatingAt: number;
  tableAt: number;
  tableEnd: number;
  lapicAddr: number;
  oem: string;
  processors: { apicId: number; version: number; flags: number }[];
  buses: { id: number; type: string }[];
  ioapics: { id: number; version: number; flags: number; addr: number }[];
  ioInterrupts: { type: number; flags: number; bus: number; irq: number; apic: number; pin: number }[];
  localInterrupts: { type: number; flags: number; apic: number; lint: number }[];
  entryTypes: number[];
}

function parseMpTable(mem: GuestMemory): MpTable {
  const hits = scan(mem, 0x9fc00, 0xa0000, "_MP_");
  assert.equal(hits.length, 1, "one _MP_ signature in the last KiB of base memory");
  const floatingAt = hits[0] as number;
  const mpf = Bytes.at(mem, floatingAt, 16);
  const paragraphs = mpf.u8(8);
  assert.equal(paragraphs, 1);
  assert.equal(sum8(mem.read(floatingAt, paragraphs * 16)), 0, "floating pointer checksum");
  assert.equal(mpf.u8(9), 4, "MPS revision 1.4");
  assert.equal(mpf.u8(11), 0, "feature byte 1: a configuration table, not a default configuration");
  const tableAt = mpf.u32(4);
  assert.equal(tableAt, floatingAt + 16, "the configuration table follows the floating pointer");

  const header = Bytes.at(mem, tableAt, 44);
  assert.equal(header.text(0, 4), "PCMP");
  const length = header.u16(4);
  assert.equal(sum8(mem.read(tableAt, length)), 0, "configuration table checksum");
  assert.equal(header.u8(6), 4);
  const t = Bytes.at(mem, tableAt, length);
  const result: MpTable = {
    floatingAt,
    tableAt,
    tableEnd: tableAt + length,
    lapicAddr: header.u32(36),
    oem: header.text(8, 8),
    processors: [],
    buses: [],
    ioapics: [],
    ioInterrupts: [],
    localInterrupts: [],
    entryTypes: [],
  };
  let at = 44;
  for (let i = 0; i < header.u16(34); i++) {
    const type = t.u8(at);
    result.entryTypes.push(type);
    switch (type) {
      case 0:
        result.processors.push({ apicId: t.u8(at + 1), version: t.u8(at + 2), flags: t.u8(at + 3) });
        at += 20;
        continue;
      case 1:
        result.buses.push({ id: t.u8(at + 1), type: t.text(at + 2, 6) });
        break;
      case 2:
        result.ioapics.push({ id: t.u8(at + 1), version: t.u8(at + 2), flags: t.u8(at + 3), addr: t.u32(at + 4) });
        break;
      case 3:
        result.ioInterrupts.push({
          type: t.u8(at + 1),
          flags: t.u16(at + 2),
          bus: t.u8(at + 4),
          irq: t.u8(at + 5),
          apic: t.u8(at + 6),
          pin: t.u8(at + 7),
        });
        break;
      case 4:
        result.localInterrupts.push({
          type: t.u8(at + 1),
          flags: t.u16(at + 2),
          apic: t.u8(at + 6),
          lint: t.u8(at + 7),
        });
        break;
      default:
        assert.fail(`unknown MP table entry type ${type} at offset ${at}`);
    }
    at += 8;
  }
  assert.equal(at, length, "the entries fill the base table exactly");
  return result;
}

// ---- ACPI (ACPI 6.x, chapter 5.2) ----

interface Sdt {
  addr: number;
  signature: string;
  revision: number;
  body: Bytes;
}

function readSdt(mem: GuestMemory, addr: number): Sdt {
  const header = Bytes.at(mem, addr, 36);
  const length = header.u32(4);
  assert.ok(length >= 36, `table at 0x${addr.toString(16)} is at least a header`);
  const bytes = mem.read(addr, length);
  const signature = header.text(0, 4);
  assert.equal(sum8(bytes), 0, `${signature} checksum`);
  assert.equal(header.text(10, 6), "TSVMM ", `${signature} OEM ID`);
  assert.ok(addr >= 0xe0040 && addr + length <= 0xf0000, `${signature} lies in the ACPI area`);
  assert.equal(addr % 16, 0, `${signature} is 16-byte aligned`);
  return { addr, signature, revision: header.u8(8), body: new Bytes(bytes) };
}

interface Acpi {
  rsdpAt: number;
  xsdt: Sdt;
  rsdt: Sdt;
  tables: Map<string, Sdt>;
  facsAt: number;
}

function parseAcpi(mem: GuestMemory): Acpi {
  const hits = scan(mem, 0xe0000, 0x100000, "RSD PTR ").filter((gpa) => sum8(mem.read(gpa, 20)) === 0);
  assert.equal(hits.length, 1, "one RSDP with a valid checksum in 0xe0000-0xfffff");
  const rsdpAt = hits[0] as number;
  const rsdp = Bytes.at(mem, rsdpAt, 36);
  assert.equal(rsdp.u8(15), 2, "RSDP revision 2");
  assert.equal(rsdp.u32(20), 36);
  assert.equal(sum8(mem.read(rsdpAt, 36)), 0, "RSDP extended checksum");
  assert.equal(rsdp.text(9, 6), "TSVMM ");

  const xsdt = readSdt(mem, rsdp.u64(24));
  assert.equal(xsdt.signature, "XSDT");
  const rsdt = readSdt(mem, rsdp.u32(16));
  assert.equal(rsdt.signature, "RSDT");
  const xEntries = Array.from({ length: (xsdt.body.bytes.length - 36) / 8 }, (_, i) => xsdt.body.u64(36 + i * 8));
  const rEntries = Array.from({ length: (rsdt.body.bytes.length - 36) / 4 }, (_, i) => rsdt.body.u32(36 + i * 4));
  assert.deepEqual(rEntries, xEntries, "the RSDT lists what the XSDT lists");

  const tables = new Map<string, Sdt>();
  for (const addr of xEntries) {
    const t = readSdt(mem, addr);
    assert.ok(!tables.has(t.signature), `one ${t.signature}`);
    tables.set(t.signature, t);
  }
  const fadt = tables.get("FACP");
  assert.ok(fadt, "the XSDT lists a FADT");
  const dsdtAddr = fadt.body.u64(140);
  assert.equal(fadt.body.u32(40), dsdtAddr, "DSDT and X_DSDT agree");
  const dsdt = readSdt(mem, dsdtAddr);
  assert.equal(dsdt.signature, "DSDT");
  assert.ok(dsdt.revision >= 2);
  tables.set("DSDT", dsdt);

  const facsAt = fadt.body.u32(36);
  assert.equal(fadt.body.u64(132), facsAt, "FIRMWARE_CTRL and X_FIRMWARE_CTRL agree");
  const facs = Bytes.at(mem, facsAt, 64);
  assert.equal(facs.text(0, 4), "FACS");
  assert.equal(facs.u32(4), 64);
  assert.equal(facsAt % 64, 0, "the FACS is 64-byte aligned");
  return { rsdpAt, xsdt, rsdt, tables, facsAt };
}

interface Madt {
  lapicAddr: number;
  flags: number;
  localApics: { uid: number; apicId: number; flags: number }[];
  ioapics: { id: number; addr: number; gsiBase: number }[];
  overrides: Map<number, { bus: number; gsi: number; flags: number }>;
  nmis: { uid: number; flags: number; lint: number }[];
}

function parseMadt(t: Sdt): Madt {
  const b = t.body;
  const m: Madt = {
    lapicAddr: b.u32(36),
    flags: b.u32(40),
    localApics: [],
    ioapics: [],
    overrides: new Map(),
    nmis: [],
  };
  let at = 44;
  while (at < b.bytes.length) {
    const type = b.u8(at);
    const length = b.u8(at + 1);
    assert.ok(length >= 2 && at + length <= b.bytes.length, `MADT entry at ${at} fits`);
    switch (type) {
      case 0:
        assert.equal(length, 8);
        m.localApics.push({ uid: b.u8(at + 2), apicId: b.u8(at + 3), flags: b.u32(at + 4) });
        break;
      case 1:
        assert.equal(length, 12);
        m.ioapics.push({ id: b.u8(at + 2), addr: b.u32(at + 4), gsiBase: b.u32(at + 8) });
        break;
      case 2:
        assert.equal(length, 10);
        assert.ok(!m.overrides.has(b.u8(at + 3)), "one override per source IRQ");
        m.overrides.set(b.u8(at + 3), { bus: b.u8(at + 2), gsi: b.u32(at + 4), flags: b.u16(at + 8) });
        break;
      case 4:
        assert.equal(length, 6);
        m.nmis.push({ uid: b.u8(at + 2), flags: b.u16(at + 3), lint: b.u8(at + 5) });
        break;
      default:
        assert.fail(`unexpected MADT entry type ${type}`);
    }
    at += length;
  }
  assert.equal(at, b.bytes.length, "the entries fill the MADT exactly");
  return m;
}

/** ISA IRQ -> IOAPIC pin as a guest using ACPI computes it: identity unless an override says otherwise. */
function acpiIsaPin(madt: Madt, irq: number): number {
  const gsiBase = madt.ioapics[0]?.gsiBase ?? 0;
  return (madt.overrides.get(irq)?.gsi ?? irq) - gsiBase;
}

// ---- tests ----

for (const cpus of [1, 4, 8]) {
  test(`MP table for ${cpus} vCPU(s): CPUs, BSP, ISA bus, IOAPIC, 16 ISA interrupts, LINT0/LINT1`, () => {
    withMemory((mem) => {
      writeMpTable(mem, cpus);
      const mp = parseMpTable(mem);
      assert.ok(mp.tableEnd <= 0xa0000, "the table ends below 640 KiB");
      assert.equal(mp.lapicAddr, LAPIC_ADDR);
      assert.equal(mp.oem, "TSVMM   ");
      assert.deepEqual(mp.entryTypes, [...mp.entryTypes].sort(), "entries in ascending type order");

      assert.deepEqual(
        mp.processors.map((p) => p.apicId),
        Array.from({ length: cpus }, (_, i) => i),
      );
      for (const p of mp.processors) {
        assert.equal(p.flags & 1, 1, `CPU ${p.apicId} enabled`);
        assert.equal(p.flags & 2, p.apicId === 0 ? 2 : 0, `only CPU 0 is the BSP (CPU ${p.apicId})`);
        assert.equal(p.version, 0x14);
      }

      assert.deepEqual(mp.buses, [{ id: 0, type: "ISA   " }]);
      assert.deepEqual(mp.ioapics, [{ id: cpus, version: 0x11, flags: 1, addr: IOAPIC_ADDR }]);

      assert.equal(mp.ioInterrupts.length, 16);
      mp.ioInterrupts.forEach((e, irq) => {
        // KVM's default routing: ISA IRQ n (the PIT's GSI 0 included) arrives on IOAPIC pin n.
        assert.deepEqual(e, { type: 0, flags: 0, bus: 0, irq, apic: cpus, pin: irq }, `ISA IRQ ${irq}`);
      });

      assert.deepEqual(mp.localInterrupts, [
        { type: 3, flags: 0, apic: 0xff, lint: 0 }, // ExtINT on LINT0
        { type: 1, flags: 0, apic: 0xff, lint: 1 }, // NMI on LINT1
      ]);
    });
  });

  test(`ACPI tables for ${cpus} vCPU(s): RSDP -> XSDT/RSDT -> FADT -> DSDT, MADT`, () => {
    withMemory((mem) => {
      writeAcpiTables(mem, cpus);
      const acpi = parseAcpi(mem);
      assert.deepEqual([...acpi.tables.keys()].sort(), ["APIC", "DSDT", "FACP"]);

      const fadt = acpi.tables.get("FACP") as Sdt;
      assert.equal(fadt.revision, 6);
      assert.equal(fadt.body.bytes.length, 276);
      const flags = fadt.body.u32(112);
      assert.equal(flags & (1 << 20), 0, "not HW_REDUCED_ACPI: the PIC and PIT stay in use");
      const bootArch = fadt.body.u16(109);
      assert.equal(bootArch & 0b11, 0b11, "IA-PC boot flags: LEGACY_DEVICES and 8042");
      const sci = fadt.body.u16(46);
      assert.notEqual(sci, 0, "SCI_INT is not the timer's IRQ");
      // The ACPI fixed hardware: PM1a blocks and the PM timer where the device models are, the reset register.
      assert.equal(sci, 9, "SCI_INT 9");
      assert.deepEqual([fadt.body.u32(56), fadt.body.u8(88)], [ACPI_PM1A_EVT_PORT, ACPI_PM1_EVT_LEN]);
      assert.deepEqual([fadt.body.u32(64), fadt.body.u8(89)], [ACPI_PM1A_CNT_PORT, ACPI_PM1_CNT_LEN]);
      assert.deepEqual([fadt.body.u32(76), fadt.body.u8(91)], [PM_TIMER_PORT, PM_TIMER_SIZE]);
      assert.equal(fadt.body.u8(148), 1, "X_PM1a_EVT_BLK in system I/O space");
      assert.equal(fadt.body.u64(148 + 4), ACPI_PM1A_EVT_PORT);
      assert.equal(fadt.body.u64(172 + 4), ACPI_PM1A_CNT_PORT);
      assert.equal(fadt.body.u64(208 + 4), PM_TIMER_PORT);
      assert.equal(flags & (1 << 8), 0, "TMR_VAL_EXT clear: a 24-bit PM timer");
      assert.equal(flags & (1 << 10), 1 << 10, "RESET_REG_SUP");
      assert.deepEqual([fadt.body.u8(116), fadt.body.u64(120), fadt.body.u8(128)], [1, 0xcf9, 6], "RESET_REG");
      // \_S5: Name (_S5, Package (4) { 5, 5, 0, 0 }), the sleep type the PM1a control block takes for S5.
      const dsdt = acpi.tables.get("DSDT") as Sdt;
      const aml = [...dsdt.body.bytes.subarray(36)];
      assert.deepEqual(aml, [0x08, ...Buffer.from("_S5_"), 0x12, 0x08, 0x04, 0x0a, SLP_TYP_S5, 0x0a, SLP_TYP_S5, 0, 0]);

      const madt = parseMadt(acpi.tables.get("APIC") as Sdt);
      assert.equal(madt.lapicAddr, LAPIC_ADDR);
      assert.equal(madt.flags & 1, 1, "PCAT_COMPAT");
      assert.deepEqual(
        madt.localApics,
        Array.from({ length: cpus }, (_, i) => ({ uid: i, apicId: i, flags: 1 })),
      );
      assert.deepEqual(madt.ioapics, [{ id: cpus, addr: IOAPIC_ADDR, gsiBase: 0 }]);

      // IRQ0 is stated explicitly, on the GSI KVM's default routing delivers the PIT to, edge triggered.
      const irq0 = madt.overrides.get(0);
      assert.deepEqual(irq0, { bus: 0, gsi: 0, flags: 0b0101 }, "IRQ0 -> GSI 0, edge, active high");
      // The SCI's override makes it level-triggered (it would otherwise be taken as active low).
      assert.equal(madt.overrides.get(sci)?.flags, 0b1101, "SCI level, active high");
      for (const [irq, o] of madt.overrides) assert.equal(o.bus, 0, `override of IRQ ${irq} is on the ISA bus`);

      assert.deepEqual(madt.nmis, [{ uid: 0xff, flags: 0, lint: 1 }]);
    });
  });

  test(`MP table and MADT describe the same CPUs, IOAPIC and ISA routing for ${cpus} vCPU(s)`, () => {
    withMemory((mem) => {
      writeMpTable(mem, cpus);
      writeAcpiTables(mem, cpus);
      const mp = parseMpTable(mem);
      const madt = parseMadt(parseAcpi(mem).tables.get("APIC") as Sdt);
      assert.deepEqual(
        madt.localApics.map((l) => l.apicId),
        mp.processors.map((p) => p.apicId),
      );
      assert.equal(madt.ioapics[0]?.id, mp.ioapics[0]?.id);
      for (const e of mp.ioInterrupts) assert.equal(acpiIsaPin(madt, e.irq), e.pin, `ISA IRQ ${e.irq}`);
    });
  });
}

test("ACPI tables are disjoint, and the RSDP stays clear of them", () => {
  withMemory((mem) => {
    writeAcpiTables(mem, 8);
    const acpi = parseAcpi(mem);
    type Range = { start: number; end: number; what: string };
    const span = (start: number, length: number, what: string): Range => ({ start, end: start + length, what });
    const ranges: Range[] = [
      span(acpi.rsdpAt, 36, "RSDP"),
      span(acpi.facsAt, 64, "FACS"),
      span(acpi.xsdt.addr, acpi.xsdt.body.bytes.length, "XSDT"),
      span(acpi.rsdt.addr, acpi.rsdt.body.bytes.length, "RSDT"),
      ...[...acpi.tables.values()].map((t) => span(t.addr, t.body.bytes.length, t.signature)),
    ];
    ranges.sort((a, b) => a.start - b.start);
    for (let i = 1; i < ranges.length; i++) {
      const prev = ranges[i - 1] as Range;
      const cur = ranges[i] as Range;
      assert.ok(prev.end <= cur.start, `${prev.what} ends before ${cur.what} starts`);
    }
  });
});

test("the MP table takes as many vCPUs as fit in its KiB, and refuses more with a RangeError", () => {
  // 16 (floating pointer) + 44 (header) + 8 (bus) + 8 (IOAPIC) + 16 * 8 (ISA IRQs) + 2 * 8 (LINT0/1) = 220,
  // leaving 804 bytes for 20-byte processor entries: 40 of them.
  withMemory((mem) => {
    writeMpTable(mem, 40);
    assert.equal(parseMpTable(mem).processors.length, 40);
    assert.throws(() => writeMpTable(mem, 41), RangeError);
  });
});

test("vCPU counts outside 1..254 are refused with a RangeError", () => {
  withMemory((mem) => {
    for (const cpus of [0, -1, 255, 1.5, Number.NaN]) {
      assert.throws(() => writeMpTable(mem, cpus), RangeError, `MP table, ${cpus}`);
      assert.throws(() => writeAcpiTables(mem, cpus), RangeError, `ACPI, ${cpus}`);
    }
    writeAcpiTables(mem, 254);
    const madt = parseMadt(parseAcpi(mem).tables.get("APIC") as Sdt);
    assert.equal(madt.localApics.length, 254);
    assert.equal(madt.ioapics[0]?.id, 254);
  });
});
