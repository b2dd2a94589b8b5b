// QEMU's test devices as a guest written for QEMU sees them (guests/pci_probe.S): PCI bus 0 through
// 0xcf8/0xcfc, pci-testdev found, its BARs sized, moved and decoded, its memory and I/O tests run as
// kvm-unit-tests run them, pc-testdev's data register at every width, its page flush and MMIO window, and
// the result reported through isa-debug-exit at QEMU's default port 0x501; and pc-testdev's IRQ-line ports
// raising interrupts through the 8259 pair (guests/testdev_irq.S). On every accelerator.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildFlat } from "./helpers/build_guest.js";
import { accelerators } from "./helpers/kvm.js";
import { runCli } from "./helpers/run.js";

const HIGH = 0x100000;
const status = (code: number) => (code << 1) | 1;

for (const accel of accelerators()) {
  test(`pci_probe: pci-testdev and pc-testdev as kvm-unit-tests use them, exit through port 0x501 [${accel}]`, () => {
    const r = runCli([
      "run",
      "--accel",
      accel,
      "--mode",
      "protected",
      "--timeout",
      "20000",
      buildFlat("pci_probe.S", HIGH),
    ]);
    assert.equal(
      r.stdout,
      [
        "pci: host 8086:1237 testdev 00:01.0 bar0 fffff000 size 00001000 bar1 ffffff01 size 00000100",
        "pci-testdev mem: mmio-no-eventfd mmio-wildcard-eventfd mmio-datamatch-eventfd",
        "pci-testdev io: portio-no-eventfd portio-wildcard-eventfd portio-datamatch-eventfd",
        "pc-testdev: ok",
        "",
      ].join("\n"),
      r.stderr,
    );
    assert.equal(r.status, status(0x31), r.stderr);
  });

  test(`testdev_irq: pc-testdev's IRQ-line ports raise ISA lines 5 and 10 through the PICs [${accel}]`, () => {
    const file = buildFlat("testdev_irq.S", HIGH);
    const r = runCli(["run", "--accel", accel, "--mode", "protected", "--irqchip", "--timeout", "20000", file]);
    assert.equal(r.stdout, "pc-testdev irq: irq5=2 irq10=1\n", r.stderr);
    assert.equal(r.status, status(0x32), r.stderr);
  });
}
