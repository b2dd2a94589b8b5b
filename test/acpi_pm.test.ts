// The ACPI PM1a event and control blocks: SCI_EN reads set (no SMI command port: always in ACPI mode), PM1_STS
// bits clear when written 1, and SLP_EN with the S5 sleep type powers off; other sleep types do not.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ACPI_PM1A_CNT_PORT, ACPI_PM1A_EVT_PORT, AcpiPm, SLP_TYP_S5 } from "../src/devices/legacy/acpi_pm.js";

const CNT = ACPI_PM1A_CNT_PORT - ACPI_PM1A_EVT_PORT;
const SLP_EN = 1 << 13;
const word = (v: number) => Uint8Array.of(v & 0xff, v >> 8);
function read16(pm: AcpiPm, offset: number): number {
  const data = new Uint8Array(2);
  pm.read(offset, data);
  return (data[0] as number) | ((data[1] as number) << 8);
}

test("acpi pm: SCI_EN reads 1; SLP_TYP is kept; SLP_EN never reads back", () => {
  let offs = 0;
  const pm = new AcpiPm(() => offs++);
  assert.equal(read16(pm, CNT) & 1, 1);
  pm.write(CNT, word(3 << 10));
  assert.equal(read16(pm, CNT), (3 << 10) | 1);
  pm.write(CNT, word((3 << 10) | SLP_EN)); // S3 is not entered
  assert.equal(read16(pm, CNT) & SLP_EN, 0);
  assert.equal(offs, 0);
});

test("acpi pm: SLP_TYP=S5 with SLP_EN powers off, as Linux writes it (type first, then SLP_EN)", () => {
  let offs = 0;
  const pm = new AcpiPm(() => offs++);
  pm.write(CNT, word((SLP_TYP_S5 << 10) | 1));
  assert.equal(offs, 0);
  pm.write(CNT, word((SLP_TYP_S5 << 10) | 1 | SLP_EN));
  assert.equal(offs, 1);
});

test("acpi pm: PM1_STS is write-1-to-clear, PM1_EN keeps what is written, byte accesses work", () => {
  const pm = new AcpiPm(() => {});
  pm.restore({ status: 0x8001, enable: 0, control: 0 });
  pm.write(0, word(0x0001));
  assert.equal(read16(pm, 0), 0x8000);
  pm.write(1, Uint8Array.of(0x80));
  assert.equal(read16(pm, 0), 0);
  pm.write(2, word(0x0120));
  assert.equal(read16(pm, 2), 0x0120);
  assert.deepEqual(pm.snapshot(), { status: 0, enable: 0x0120, control: 1 });
});
