// QEMU's pc-testdev and isa-debug-exit at 0x501, driven through their registers on the machine's bus.
import assert from "node:assert/strict";
import { test } from "node:test";
import { splitQemuList } from "../src/cli/parse.js";
import { PC_TESTDEV_IOMEM_BASE, PcTestdev } from "../src/devices/testdev/pc_testdev.js";
import { buildDevices } from "../src/vmm/devices.js";
import type { StopReason } from "../src/vmm/vcpu_loop.js";

function machine(setIrq?: (gsi: number, level: boolean) => void) {
  const stops: StopReason[] = [];
  const { bus } = buildDevices(
    { ramSize: 1 << 20, cpus: 1, irqchip: setIrq !== undefined },
    { consoleOutput: () => {}, requestStop: (r) => stops.push(r), ...(setIrq && { setIrq }) },
  );
  const read = (space: "pio" | "mmio", addr: number, size: number) => {
    const data = new Uint8Array(size);
    bus.read(space, addr, data);
    return Buffer.from(data).readUIntLE(0, size);
  };
  const write = (space: "pio" | "mmio", addr: number, size: number, value: number) => {
    const data = Buffer.alloc(size);
    data.writeUIntLE(value, 0, size);
    bus.write(space, addr, new Uint8Array(data));
  };
  return { bus, stops, read, write };
}

test("pc-testdev: the data register at 0xe0 reads back by lane at every width", () => {
  const m = machine();
  m.write("pio", 0xe0, 4, 0x12345678);
  assert.equal(m.read("pio", 0xe0, 4), 0x12345678);
  assert.equal(m.read("pio", 0xe0, 2), 0x5678);
  assert.equal(m.read("pio", 0xe2, 2), 0x1234);
  assert.deepEqual(
    [0xe0, 0xe1, 0xe2, 0xe3].map((p) => m.read("pio", p, 1)),
    [0x78, 0x56, 0x34, 0x12],
  );
  m.write("pio", 0xe1, 1, 0xaa);
  assert.equal(m.read("pio", 0xe0, 4), 0x1234aa78);
  m.write("pio", 0xe2, 2, 0xbeef);
  assert.equal(m.read("pio", 0xe0, 4), 0xbeefaa78);
  // 0xe8 is the same register, served a byte at a time.
  assert.equal(m.read("pio", 0xe8, 4), 0xbeefaa78);
  m.write("pio", 0xe8, 4, 0xcafef00d);
  assert.equal(m.read("pio", 0xe0, 4), 0xcafef00d);
});

test("pc-testdev: the flush-page register takes dword writes and changes no data", () => {
  const dev = new PcTestdev();
  dev.flushRegister.write(0, new Uint8Array([0x34, 0x12, 0x10, 0x00]));
  assert.equal(dev.flushes, 1);
  assert.equal(dev.lastFlushedPage, 0x101000);
  dev.flushRegister.write(0, new Uint8Array([1])); // a byte: not a valid access
  assert.equal(dev.flushes, 1);
});

test("pc-testdev: the IRQ-line ports raise and lower ISA lines with byte writes", () => {
  const lines: [number, boolean][] = [];
  const m = machine((gsi, level) => lines.push([gsi, level]));
  m.write("pio", 0x2000 + 10, 1, 1);
  m.write("pio", 0x2000 + 10, 1, 0);
  m.write("pio", 0x2000 + 23, 1, 0x80);
  m.write("pio", 0x2000 + 5, 2, 1); // a word: ignored
  assert.deepEqual(lines, [
    [10, true],
    [10, false],
    [23, true],
  ]);
});

test("pc-testdev: the 64 KiB MMIO window at 0xff000000 reads back what was written", () => {
  const m = machine();
  m.write("mmio", PC_TESTDEV_IOMEM_BASE + 0x10, 4, 0xdeadbeef);
  assert.equal(m.read("mmio", PC_TESTDEV_IOMEM_BASE + 0x10, 4), 0xdeadbeef);
  assert.equal(m.read("mmio", PC_TESTDEV_IOMEM_BASE + 0x12, 2), 0xdead);
  m.write("mmio", PC_TESTDEV_IOMEM_BASE + 0xfffe, 2, 0x55aa);
  assert.equal(m.read("mmio", PC_TESTDEV_IOMEM_BASE + 0xffff, 1), 0x55);
  const data = new Uint8Array(8);
  m.bus.read("mmio", PC_TESTDEV_IOMEM_BASE + 0x10, data);
  assert.deepEqual([...data], [0xef, 0xbe, 0xad, 0xde, 0, 0, 0, 0]);
});

test("isa-debug-exit answers at QEMU's default 0x501 (2 ports) and at 0xf4", () => {
  const m = machine();
  m.write("pio", 0x501, 1, 0x21);
  m.write("pio", 0xf4, 4, 0x22);
  m.write("pio", 0x502, 1, 0x23); // offset 1: not the register
  assert.deepEqual(m.stops, [
    { kind: "exit", code: 0x21 },
    { kind: "exit", code: 0x22 },
  ]);
});

test("QEMU's -initrd list: commas separate modules, ',,' is a comma", () => {
  assert.deepEqual(splitQemuList("a"), ["a"]);
  assert.deepEqual(splitQemuList("a x=1,b"), ["a x=1", "b"]);
  assert.deepEqual(splitQemuList("a,,b,c"), ["a,b", "c"]);
  assert.deepEqual(splitQemuList("a,"), ["a", ""]);
});
