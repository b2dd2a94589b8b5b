import assert from "node:assert/strict";
import { test } from "node:test";
import type { BusDevice } from "../src/bus/io_bus.js";
import { DebugExit } from "../src/devices/legacy/debug_exit.js";
import {
  FW_CFG_FILE_DIR,
  FW_CFG_FILE_FIRST,
  FW_CFG_ID,
  FW_CFG_MAX_CPUS,
  FW_CFG_NB_CPUS,
  FW_CFG_RAM_SIZE,
  FW_CFG_SIGNATURE,
  FwCfg,
} from "../src/devices/legacy/fw_cfg.js";
import { I8259Mask } from "../src/devices/legacy/i8259_mask.js";
import { PostCode } from "../src/devices/legacy/post_code.js";

// Accesses exactly as the bus makes them: a buffer of the access width, pre-filled with junk for reads so
// that a device which forgets to fill it is caught.
function rd(dev: BusDevice, offset: number, size = 1): number[] {
  const data = new Uint8Array(size).fill(0xaa);
  dev.read(offset, data);
  return [...data];
}

function wr(dev: BusDevice, offset: number, ...bytes: number[]): void {
  dev.write(offset, Uint8Array.from(bytes));
}

/** Reads `n` bytes from a byte-wide data register, one access each. */
function stream(dev: BusDevice, offset: number, n: number): number[] {
  return Array.from({ length: n }, () => rd(dev, offset)[0] as number);
}

const ascii = (s: string): number[] => [...Buffer.from(s, "latin1")];

test("debug-exit passes the little-endian value of 1, 2 and 4-byte writes to onExit", () => {
  const values: number[] = [];
  const dev = new DebugExit((v) => values.push(v));
  wr(dev, 0, 0x31);
  wr(dev, 0, 0x34, 0x12);
  wr(dev, 0, 0x78, 0x56, 0x34, 0x12);
  wr(dev, 0, 0xff, 0xff, 0xff, 0xff);
  assert.deepEqual(values, [0x31, 0x1234, 0x12345678, 0xffffffff]);

  // Not the exit register, or not a real OUT width: nothing happens.
  wr(dev, 1, 0x01);
  wr(dev, 0, 1, 2, 3);
  wr(dev, 0);
  assert.equal(values.length, 4);

  assert.deepEqual(rd(dev, 0, 4), [0, 0, 0, 0]);
  assert.deepEqual(rd(dev, 2, 2), [0, 0]);
  assert.equal(values.length, 4);
  assert.deepEqual(dev.snapshot(), {});
});

function fwCfg(ramSize = 0x1_2345_6000): FwCfg {
  return new FwCfg({ ramSize, nbCpus: 3, maxCpus: 8 });
}

function select(dev: FwCfg, key: number): void {
  wr(dev, 0, key & 0xff, key >> 8);
}

test("fw_cfg: signature, ID, RAM size and CPU counts through the selector and data ports", () => {
  const dev = fwCfg();
  // After reset the signature is selected already.
  assert.deepEqual(stream(dev, 1, 4), ascii("QEMU"));

  select(dev, FW_CFG_SIGNATURE);
  assert.deepEqual(stream(dev, 1, 4), ascii("QEMU"));
  assert.deepEqual(stream(dev, 1, 3), [0, 0, 0], "past the end reads zeros");

  select(dev, FW_CFG_ID);
  assert.deepEqual(stream(dev, 1, 4), [1, 0, 0, 0], "traditional interface, no DMA");

  select(dev, FW_CFG_RAM_SIZE);
  assert.equal(Buffer.from(stream(dev, 1, 8)).readBigUInt64LE(), 0x1_2345_6000n);

  select(dev, FW_CFG_NB_CPUS);
  assert.deepEqual(stream(dev, 1, 3), [3, 0, 0]);
  select(dev, FW_CFG_MAX_CPUS);
  assert.deepEqual(stream(dev, 1, 3), [8, 0, 0]);
});

test("fw_cfg: selecting resets the offset; only 16-bit little-endian selector writes count", () => {
  const dev = fwCfg();
  select(dev, FW_CFG_SIGNATURE);
  assert.deepEqual(stream(dev, 1, 2), ascii("QE"));
  select(dev, FW_CFG_SIGNATURE);
  assert.deepEqual(stream(dev, 1, 4), ascii("QEMU"));

  wr(dev, 0, 0x00, 0x05); // key 0x0500 (unknown), not 0x0005
  assert.deepEqual(stream(dev, 1, 2), [0, 0]);
  wr(dev, 0, 0x05, 0x00);
  assert.deepEqual(stream(dev, 1, 2), [3, 0]);

  // Byte and dword writes to the selector are ignored: the NB_CPUS selection and its offset survive.
  select(dev, FW_CFG_NB_CPUS);
  assert.deepEqual(stream(dev, 1, 1), [3]);
  wr(dev, 0, FW_CFG_SIGNATURE);
  wr(dev, 0, 0, 0, 0, 0);
  assert.deepEqual(stream(dev, 1, 2), [0, 0], "still NB_CPUS, second byte then past the end");

  // The selector is write-only: reading it gives zeros and does not consume data.
  select(dev, FW_CFG_SIGNATURE);
  assert.deepEqual(rd(dev, 0, 2), [0, 0]);
  assert.deepEqual(stream(dev, 1, 4), ascii("QEMU"));
});

test("fw_cfg: unknown selectors read zeros; the write-channel bit is ignored as in QEMU", () => {
  const dev = fwCfg();
  for (const key of [0x0002, 0x0018, FW_CFG_FILE_FIRST, 0x1234, 0x8000, 0x8003, 0xffff]) {
    select(dev, key);
    assert.deepEqual(stream(dev, 1, 8), [0, 0, 0, 0, 0, 0, 0, 0], `key 0x${key.toString(16)}`);
  }
  select(dev, 0x4000 | FW_CFG_SIGNATURE);
  assert.deepEqual(stream(dev, 1, 4), ascii("QEMU"));
});

test("fw_cfg: wide data reads return successive bytes, then zeros; data writes are ignored", () => {
  const dev = fwCfg();
  select(dev, FW_CFG_SIGNATURE);
  assert.deepEqual(rd(dev, 1, 2), ascii("QE"));
  assert.deepEqual(rd(dev, 1, 4), [...ascii("MU"), 0, 0]);
  assert.deepEqual(rd(dev, 1, 4), [0, 0, 0, 0]);

  select(dev, FW_CFG_SIGNATURE);
  wr(dev, 1, 0x58);
  wr(dev, 1, 0x58, 0x58);
  assert.deepEqual(stream(dev, 1, 4), ascii("QEMU"), "writes neither changed the item nor moved the offset");
});

test("fw_cfg: an empty file directory is a zero count", () => {
  const dev = fwCfg();
  select(dev, FW_CFG_FILE_DIR);
  assert.deepEqual(stream(dev, 1, 4), [0, 0, 0, 0]);
  assert.deepEqual(stream(dev, 1, 4), [0, 0, 0, 0]);
});

test("fw_cfg: files get selectors in order added, are listed in the directory and read by selector", () => {
  const dev = fwCfg();
  const a = Uint8Array.of(1, 2, 3);
  const b = new Uint8Array(70000).map((_, i) => (i * 7) & 0xff);
  const nameB = "opt/org.tsvmm/a-name-of-exactly-fifty-five-characters!!";
  assert.equal(nameB.length, 55);
  assert.equal(dev.addFile("etc/a", a), FW_CFG_FILE_FIRST);
  assert.equal(dev.addFile(nameB, b), FW_CFG_FILE_FIRST + 1);

  select(dev, FW_CFG_FILE_DIR);
  const dir = Buffer.from(stream(dev, 1, 4 + 2 * 64 + 4));
  assert.equal(dir.readUInt32BE(0), 2);
  const entries = [
    { size: 3, key: 0x20, name: "etc/a" },
    { size: 70000, key: 0x21, name: nameB },
  ];
  entries.forEach((e, i) => {
    const at = 4 + i * 64;
    assert.equal(dir.readUInt32BE(at), e.size);
    assert.equal(dir.readUInt16BE(at + 4), e.key);
    assert.equal(dir.readUInt16BE(at + 6), 0, "reserved");
    const name = dir.subarray(at + 8, at + 64);
    assert.equal(name.subarray(0, e.name.length).toString("latin1"), e.name);
    assert.ok(
      name.subarray(e.name.length).every((c) => c === 0),
      "NUL-padded",
    );
  });
  assert.deepEqual([...dir.subarray(4 + 2 * 64)], [0, 0, 0, 0], "nothing after the last entry");

  select(dev, 0x21);
  assert.deepEqual(Uint8Array.from(stream(dev, 1, b.length)), b);
  assert.deepEqual(stream(dev, 1, 2), [0, 0]);
  select(dev, 0x20);
  assert.deepEqual(stream(dev, 1, 4), [1, 2, 3, 0]);
  select(dev, 0x22);
  assert.deepEqual(stream(dev, 1, 2), [0, 0], "no third file");
});

test("fw_cfg: bad host input throws RangeError", () => {
  const dev = fwCfg();
  dev.addFile("etc/x", new Uint8Array(1));
  assert.throws(() => dev.addFile("etc/x", new Uint8Array(1)), RangeError, "duplicate");
  assert.throws(() => dev.addFile("x".repeat(56), new Uint8Array(1)), RangeError, "no room for the NUL");
  assert.throws(() => dev.addFile("", new Uint8Array(1)), RangeError, "empty");
  assert.throws(() => dev.addFile("etc/\0x", new Uint8Array(1)), RangeError, "embedded NUL");
  assert.throws(() => dev.addFile("etc/é", new Uint8Array(1)), RangeError, "not ASCII");
  assert.equal(dev.addFile("x".repeat(55), new Uint8Array(1)), FW_CFG_FILE_FIRST + 1, "failures took no selector");

  assert.throws(() => new FwCfg({ ramSize: -1, nbCpus: 1, maxCpus: 1 }), RangeError);
  assert.throws(() => new FwCfg({ ramSize: 1.5, nbCpus: 1, maxCpus: 1 }), RangeError);
  assert.throws(() => new FwCfg({ ramSize: 0x1000, nbCpus: 0, maxCpus: 1 }), RangeError);
  assert.throws(() => new FwCfg({ ramSize: 0x1000, nbCpus: 4, maxCpus: 2 }), RangeError);
  assert.throws(() => new FwCfg({ ramSize: 0x1000, nbCpus: 1, maxCpus: 0x10000 }), RangeError);
});

test("fw_cfg: snapshot and restore keep the selection and the read position", () => {
  const dev = fwCfg();
  const data = Uint8Array.of(10, 11, 12, 13, 14);
  dev.addFile("etc/five", data);
  select(dev, FW_CFG_FILE_FIRST);
  assert.deepEqual(stream(dev, 1, 2), [10, 11]);
  const snap = dev.snapshot();
  assert.deepEqual(stream(dev, 1, 3), [12, 13, 14]);

  dev.restore(snap);
  assert.deepEqual(stream(dev, 1, 3), [12, 13, 14]);

  // A new device built from the same configuration resumes where the snapshot was taken.
  const copy = fwCfg();
  copy.addFile("etc/five", data);
  copy.restore(JSON.parse(JSON.stringify(snap)));
  assert.deepEqual(stream(copy, 1, 4), [12, 13, 14, 0]);
});

test("post code: writes latch the last code, reads return it", () => {
  const dev = new PostCode();
  assert.deepEqual(rd(dev, 0), [0]);
  wr(dev, 0, 0x55);
  wr(dev, 0, 0xa3);
  assert.equal(dev.lastCode, 0xa3);
  assert.deepEqual(rd(dev, 0), [0xa3]);
  assert.deepEqual(rd(dev, 0, 2), [0xa3, 0]);
  wr(dev, 0, 0x34, 0x12); // a word write latches the byte at the port
  assert.deepEqual(rd(dev, 0), [0x34]);

  const snap = dev.snapshot();
  wr(dev, 0, 0x00);
  const copy = new PostCode();
  copy.restore(snap);
  assert.deepEqual(rd(copy, 0), [0x34]);
  assert.deepEqual(rd(dev, 0), [0x00]);
});

/** Linux's and SeaBIOS's init for the master PIC: edge, cascade, ICW4; vectors at `base`; slave on IRQ 2; 8086 mode. */
function initMaster(pic: I8259Mask, base = 0x20): void {
  wr(pic, 0, 0x11);
  wr(pic, 1, base);
  wr(pic, 1, 0x04);
  wr(pic, 1, 0x01);
}

test("8259: the ICW1..ICW4 sequence, then OCW1 sets the mask and the data port reads it back", () => {
  const pic = new I8259Mask();
  assert.equal(pic.mask, 0, "0 after reset, like QEMU");
  assert.equal(pic.initialised, false);

  wr(pic, 0, 0x11);
  assert.equal(pic.initialised, false);
  wr(pic, 1, 0x20);
  assert.deepEqual(rd(pic, 1), [0], "ICW2 is not a mask write");
  wr(pic, 1, 0x04);
  wr(pic, 1, 0x01);
  assert.deepEqual(rd(pic, 1), [0], "nor are ICW3 and ICW4");
  assert.equal(pic.initialised, true);
  assert.equal(pic.vectorBase, 0x20);

  wr(pic, 1, 0xfb);
  assert.deepEqual(rd(pic, 1), [0xfb]);
  assert.equal(pic.mask, 0xfb);
  wr(pic, 1, 0xff);
  assert.deepEqual(rd(pic, 1), [0xff]);

  // ICW1 starts over and clears the mask.
  wr(pic, 0, 0x11);
  assert.deepEqual(rd(pic, 1), [0]);
  assert.equal(pic.initialised, false);
});

test("8259: ICW3 and ICW4 are expected only when ICW1 asks for them", () => {
  const noIcw4 = new I8259Mask();
  wr(noIcw4, 0, 0x10); // cascade, no ICW4: ICW2, ICW3
  wr(noIcw4, 1, 0x70);
  wr(noIcw4, 1, 0x02);
  assert.equal(noIcw4.initialised, true);
  wr(noIcw4, 1, 0x5a);
  assert.deepEqual(rd(noIcw4, 1), [0x5a]);
  assert.equal(noIcw4.vectorBase, 0x70);

  const single = new I8259Mask();
  wr(single, 0, 0x13); // single, ICW4: ICW2, ICW4
  wr(single, 1, 0x08);
  wr(single, 1, 0x01);
  assert.equal(single.initialised, true);
  wr(single, 1, 0x3c);
  assert.deepEqual(rd(single, 1), [0x3c]);

  const bare = new I8259Mask();
  wr(bare, 0, 0x12); // single, no ICW4: ICW2 only
  wr(bare, 1, 0x08);
  assert.equal(bare.initialised, true);
  wr(bare, 1, 0xc3);
  assert.deepEqual(rd(bare, 1), [0xc3]);
});

test("8259: OCW2 and OCW3 are accepted; the command port reads IRR or ISR, both empty", () => {
  const pic = new I8259Mask();
  initMaster(pic);
  wr(pic, 1, 0xff);
  assert.deepEqual(rd(pic, 0), [0], "IRR, not the mask");
  wr(pic, 0, 0x0b); // OCW3: read ISR
  assert.equal(pic.snapshot().readIsr, true);
  assert.deepEqual(rd(pic, 0), [0]);
  wr(pic, 0, 0x08); // OCW3 without RR keeps the choice
  assert.equal(pic.snapshot().readIsr, true);
  wr(pic, 0, 0x0a); // OCW3: read IRR
  assert.equal(pic.snapshot().readIsr, false);
  wr(pic, 0, 0x0c); // OCW3: poll
  assert.deepEqual(rd(pic, 0), [0], "poll: no interrupt");
  wr(pic, 0, 0x20); // OCW2: non-specific EOI
  wr(pic, 0, 0x62); // OCW2: specific EOI for IRQ 2
  assert.deepEqual(rd(pic, 1), [0xff], "neither OCW touched the mask");
  assert.equal(pic.initialised, true);

  // Non-byte accesses are not real 8259 cycles: ignored, reads give zeros.
  wr(pic, 1, 0x00, 0x00);
  wr(pic, 0, 0x11, 0x00);
  assert.deepEqual(rd(pic, 1), [0xff]);
  assert.deepEqual(rd(pic, 1, 2), [0, 0]);
  assert.equal(pic.initialised, true);
});

test("8259: snapshot and restore keep the mask and a half-done initialisation", () => {
  const pic = new I8259Mask();
  initMaster(pic, 0x30);
  wr(pic, 1, 0xa5);
  wr(pic, 0, 0x0b);
  const ready = pic.snapshot();

  wr(pic, 0, 0x11);
  wr(pic, 1, 0x28);
  const midway = pic.snapshot(); // waiting for ICW3

  const copy = new I8259Mask();
  copy.restore(JSON.parse(JSON.stringify(ready)));
  assert.deepEqual(rd(copy, 1), [0xa5]);
  assert.equal(copy.vectorBase, 0x30);
  assert.equal(copy.initialised, true);
  assert.deepEqual(copy.snapshot(), ready);

  copy.restore(midway);
  assert.equal(copy.initialised, false);
  wr(copy, 1, 0x04); // ICW3
  wr(copy, 1, 0x01); // ICW4
  assert.deepEqual(rd(copy, 1), [0], "ICW3 and ICW4 were not taken as masks");
  wr(copy, 1, 0x7e);
  assert.deepEqual(rd(copy, 1), [0x7e]);
  assert.equal(copy.vectorBase, 0x28);
});
