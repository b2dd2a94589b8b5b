// The PCI host bridge (configuration mechanism #1) and QEMU's pci-testdev, driven through 0xcf8/0xcfc and
// the BARs as a guest drives them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HDR_NAME, PciTestdev } from "../src/devices/pci/pci_testdev.js";
import { buildDevices } from "../src/vmm/devices.js";
import type { StopReason } from "../src/vmm/vcpu_loop.js";

function machine() {
  const stops: StopReason[] = [];
  const { bus } = buildDevices(
    { ramSize: 1 << 20, cpus: 1, irqchip: false },
    { consoleOutput: () => {}, requestStop: (r) => stops.push(r) },
  );
  const read = (space: "pio" | "mmio", addr: number, size: number) => {
    const data = new Uint8Array(size);
    bus.read(space, addr, data);
    return Buffer.from(data).readUIntLE(0, size);
  };
  const write = (space: "pio" | "mmio", addr: number, size: number, value: number) => {
    const data = Buffer.alloc(size);
    data.writeUIntLE(value >>> 0, 0, size);
    bus.write(space, addr, new Uint8Array(data));
  };
  const cfgAddr = (slot: number, reg: number) => (0x80000000 | (slot << 11) | (reg & 0xfc)) >>> 0;
  const cfgRead = (slot: number, reg: number, size = 4) => {
    write("pio", 0xcf8, 4, cfgAddr(slot, reg));
    return read("pio", 0xcfc + (reg & 3), size);
  };
  const cfgWrite = (slot: number, reg: number, size: number, value: number) => {
    write("pio", 0xcf8, 4, cfgAddr(slot, reg));
    write("pio", 0xcfc + (reg & 3), size, value);
  };
  return { bus, stops, read, write, cfgRead, cfgWrite };
}

test("CONFIG_ADDRESS is a dword register; a byte at 0xcf9 is still the Reset Control Register", () => {
  const m = machine();
  m.write("pio", 0xcf8, 4, 0x80000000);
  assert.equal(m.read("pio", 0xcf8, 4), 0x80000000);
  m.write("pio", 0xcf9, 1, 0x02); // SYS_RST alone: no reset yet, and CONFIG_ADDRESS is untouched
  assert.equal(m.read("pio", 0xcf9, 1), 0x02);
  assert.equal(m.read("pio", 0xcf8, 4), 0x80000000);
  assert.deepEqual(m.stops, []);
  m.write("pio", 0xcf9, 1, 0x06); // SYS_RST | RST_CPU
  assert.deepEqual(m.stops, [{ kind: "reset" }]);
});

test("bus 0: the i440FX host bridge at 00:00.0, pci-testdev at 00:01.0, nothing elsewhere", () => {
  const m = machine();
  assert.equal(m.cfgRead(0, 0), 0x12378086);
  assert.equal(m.cfgRead(0, 0x08) >>> 8, 0x060000);
  assert.equal(m.cfgRead(1, 0), 0x00051b36);
  assert.equal(m.cfgRead(1, 0x02, 2), 0x0005);
  assert.equal(m.cfgRead(1, 0x03, 1), 0x00);
  assert.equal(m.cfgRead(1, 0x08) >>> 8, 0xff0000);
  assert.equal(m.cfgRead(1, 0x3d, 1), 0); // no interrupt pin
  assert.equal(m.cfgRead(2, 0), 0xffffffff);
  m.write("pio", 0xcf8, 4, 0x80000100 | (1 << 11)); // function 1
  assert.equal(m.read("pio", 0xcfc, 4), 0xffffffff);
  m.write("pio", 0xcf8, 4, 0x00000000 | (1 << 11)); // enable bit clear
  assert.equal(m.read("pio", 0xcfc, 4), 0xffffffff);
});

test("pci-testdev BARs: firmware-assigned, sized with all ones, moved, decoded per the command register", () => {
  const m = machine();
  // As firmware leaves them: BAR0 at 0xfe000000, BAR1 at 0xc000, both spaces enabled.
  assert.equal(m.cfgRead(1, 0x10), 0xfe000000);
  assert.equal(m.cfgRead(1, 0x14), 0xc001);
  assert.equal(m.cfgRead(1, 0x04, 2) & 3, 3);
  m.write("mmio", 0xfe000000, 1, 0); // select mmio-no-eventfd
  assert.equal(m.read("pio", 0xc000 + HDR_NAME, 1), "m".charCodeAt(0));
  // Sizing: decoding off, write all ones, read the mask back.
  m.cfgWrite(1, 0x04, 2, 0);
  m.cfgWrite(1, 0x10, 4, 0xffffffff);
  m.cfgWrite(1, 0x14, 4, 0xffffffff);
  assert.equal(m.cfgRead(1, 0x10), 0xfffff000);
  assert.equal(m.cfgRead(1, 0x14), 0xffffff01);
  assert.equal(m.read("pio", 0xc000, 1), 0xff); // not decoded any more
  m.cfgWrite(1, 0x10, 4, 0xe0001000);
  m.cfgWrite(1, 0x14, 4, 0x1000);
  assert.equal(m.read("mmio", 0xe0001000, 1), 0xff); // not yet: the command register is 0
  m.cfgWrite(1, 0x04, 2, 2); // memory only
  m.write("mmio", 0xe0001000, 1, 1); // mmio-wildcard-eventfd
  assert.equal(m.read("mmio", 0xe0001000, 1), 1);
  assert.equal(m.read("pio", 0x1000, 1), 0xff);
  m.cfgWrite(1, 0x04, 2, 3);
  assert.equal(m.read("pio", 0x1000, 1), 1);
  assert.equal(m.read("mmio", 0xfe000000, 1), 0xff); // the old address is free again
});

test("pci-testdev protocol: header, name, and hits counted per QEMU's rules", () => {
  const dev = new PciTestdev();
  const [mmio, io] = dev.regions as [NonNullable<(typeof dev.regions)[0]>, NonNullable<(typeof dev.regions)[1]>];
  const rd = (r: typeof mmio, off: number, size: number) => {
    const d = new Uint8Array(size);
    r.read(off, d);
    return Buffer.from(d).readUIntLE(0, size);
  };
  const wr = (r: typeof mmio, off: number, size: number, v: number) => {
    const d = Buffer.alloc(size);
    d.writeUIntLE(v, 0, size);
    r.write(off, new Uint8Array(d));
  };
  const name = (r: typeof mmio) => {
    let s = "";
    for (let i = HDR_NAME; ; i++) {
      const c = rd(r, i, 1);
      if (!c) return s;
      s += String.fromCharCode(c);
    }
  };
  assert.equal(rd(mmio, 0, 4), 0); // nothing selected
  const expected = [
    ["mmio-no-eventfd", 0xfa, 2048],
    ["mmio-wildcard-eventfd", 0xce, 2049],
    ["mmio-datamatch-eventfd", 0xfa, 2050],
    ["portio-no-eventfd", 0xfa, 131],
    ["portio-wildcard-eventfd", 0xce, 132],
    ["portio-datamatch-eventfd", 0xfa, 133],
  ] as const;
  expected.forEach(([testName, data, offset], i) => {
    const r = i < 3 ? mmio : io;
    wr(r, 0, 1, i % 3);
    assert.equal(dev.selected, i);
    assert.equal(rd(r, 0, 1), i);
    assert.equal(rd(r, 1, 1), 1); // width
    assert.equal(rd(r, 4, 4), offset);
    assert.equal(rd(r, 8, 4), data);
    assert.equal(rd(r, 12, 4), 0);
    assert.equal(name(r), testName);
    for (let n = 0; n < 16; n++) wr(r, offset, 1, data);
    wr(r, offset, 1, 0x11); // counts only for the wildcard test
    wr(r, offset + 1, 1, data); // another offset: never
    assert.equal(rd(r, 12, 4), testName.includes("wildcard") ? 17 : 16);
  });
  wr(io, 0, 1, 3); // no such test: deselects
  assert.equal(dev.selected, -1);
  assert.equal(rd(io, 12, 4), 0);
});
