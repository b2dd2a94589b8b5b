import assert from "node:assert/strict";
import { test } from "node:test";
import type { BusDevice } from "../src/bus/io_bus.js";
import { CmosRtc } from "../src/devices/legacy/cmos_rtc.js";
import { I8042 } from "../src/devices/legacy/i8042.js";
import { ResetControlRegister, SystemControlPortA } from "../src/devices/legacy/reset_control.js";

// Accesses as the bus makes them; read buffers start as junk so that a device which forgets to fill one
// is caught.
function rd(dev: BusDevice, offset: number, size = 1): number[] {
  const data = new Uint8Array(size).fill(0xaa);
  dev.read(offset, data);
  return [...data];
}

function rd8(dev: BusDevice, offset: number): number {
  return rd(dev, offset)[0] as number;
}

function wr(dev: BusDevice, offset: number, ...bytes: number[]): void {
  dev.write(offset, Uint8Array.from(bytes));
}

// CMOS/RTC: index at offset 0, data at offset 1.

/** A clock the test moves by hand. */
function fakeClock(iso: string): { now: () => Date; set: (iso: string) => void; advance: (ms: number) => void } {
  let t = Date.parse(iso);
  return {
    now: () => new Date(t),
    set: (next) => {
      t = Date.parse(next);
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

function cmos(rtc: CmosRtc, index: number): number {
  wr(rtc, 0, index);
  return rd8(rtc, 1);
}

function setCmos(rtc: CmosRtc, index: number, value: number): void {
  wr(rtc, 0, index);
  wr(rtc, 1, value);
}

/** Seconds, minutes, hours, day of week, day of month, month, year, century. */
function timeRegisters(rtc: CmosRtc): number[] {
  return [0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32].map((i) => cmos(rtc, i));
}

test("rtc: time registers read the injected clock as UTC, in BCD and 24-hour mode by default", () => {
  const clock = fakeClock("2024-03-09T17:05:42.250Z"); // a Saturday
  const rtc = new CmosRtc({ ramSize: 128 << 20, now: clock.now });
  assert.deepEqual(timeRegisters(rtc), [0x42, 0x05, 0x17, 0x07, 0x09, 0x03, 0x24, 0x20]);
  assert.equal(cmos(rtc, 0x0a), 0x26, "status A: UIP clear, 32.768 kHz divider, 1024 Hz rate");
  assert.equal(cmos(rtc, 0x0b), 0x02, "status B: 24-hour, BCD");
  assert.equal(cmos(rtc, 0x0c), 0x00, "status C: no interrupt flags");
  assert.equal(cmos(rtc, 0x0d), 0x80, "status D: valid RAM and time");

  // The clock is read when the guest reads, not when the device was made.
  clock.set("1999-12-31T23:59:58Z"); // a Friday
  assert.deepEqual(timeRegisters(rtc), [0x58, 0x59, 0x23, 0x06, 0x31, 0x12, 0x99, 0x19]);
  clock.advance(2000);
  assert.deepEqual(timeRegisters(rtc), [0x00, 0x00, 0x00, 0x07, 0x01, 0x01, 0x00, 0x20], "Sat 1 Jan 2000");
});

test("rtc: register B selects binary mode and the 12-hour clock", () => {
  const clock = fakeClock("2024-03-09T23:05:42Z");
  const rtc = new CmosRtc({ ramSize: 0, now: clock.now });

  setCmos(rtc, 0x0b, 0x06); // binary, 24-hour
  assert.equal(cmos(rtc, 0x0b), 0x06);
  assert.deepEqual(timeRegisters(rtc), [42, 5, 23, 7, 9, 3, 24, 20]);

  setCmos(rtc, 0x0b, 0x04); // binary, 12-hour: 11 PM is 11 with the PM bit
  assert.equal(cmos(rtc, 0x04), 0x80 | 11);
  setCmos(rtc, 0x0b, 0x00); // BCD, 12-hour
  assert.equal(cmos(rtc, 0x04), 0x80 | 0x11);

  const hours12 = (iso: string): number => {
    clock.set(iso);
    return cmos(rtc, 0x04);
  };
  assert.equal(hours12("2024-03-09T00:30:00Z"), 0x12, "half past midnight is 12 AM");
  assert.equal(hours12("2024-03-09T01:00:00Z"), 0x01);
  assert.equal(hours12("2024-03-09T11:59:59Z"), 0x11);
  assert.equal(hours12("2024-03-09T12:00:00Z"), 0x92, "noon is 12 PM");
  assert.equal(hours12("2024-03-09T13:00:00Z"), 0x81);
  assert.equal(cmos(rtc, 0x00), 0x00, "other fields stay BCD");

  setCmos(rtc, 0x0b, 0x02);
  assert.equal(hours12("2024-03-09T13:00:00Z"), 0x13, "back to 24-hour");
});

test("rtc: with SET the registers hold still; the time written is the guest's time once SET clears", () => {
  const clock = fakeClock("2024-03-09T17:05:42Z");
  const rtc = new CmosRtc({ ramSize: 0, now: clock.now });

  setCmos(rtc, 0x0b, 0x82); // SET, 24-hour, BCD
  clock.advance(5000);
  assert.equal(cmos(rtc, 0x00), 0x42, "frozen at the moment SET was written");

  // Linux's mc146818_set_time order: the fields, then SET cleared.
  for (const [index, value] of [
    [0x00, 0x30],
    [0x02, 0x15],
    [0x04, 0x08],
    [0x07, 0x29],
    [0x08, 0x02],
    [0x09, 0x00],
    [0x32, 0x20],
  ] as const) {
    setCmos(rtc, index, value);
  }
  clock.advance(60_000);
  assert.equal(cmos(rtc, 0x02), 0x15, "still frozen");
  setCmos(rtc, 0x0b, 0x02);
  assert.deepEqual(timeRegisters(rtc), [0x30, 0x15, 0x08, 0x03, 0x29, 0x02, 0x00, 0x20], "Tue 29 Feb 2000");

  clock.advance(90_000);
  assert.deepEqual(timeRegisters(rtc).slice(0, 3), [0x00, 0x17, 0x08], "the set time runs with the host clock");
});

test("rtc: fields written one at a time without SET are taken together", () => {
  const clock = fakeClock("2024-01-31T10:00:00Z");
  const rtc = new CmosRtc({ ramSize: 0, now: clock.now });
  // SeaBIOS's INT 1Ah AH=05h order: year, month, day, century. Month 2 first makes "Feb 31" for a moment.
  setCmos(rtc, 0x09, 0x23);
  setCmos(rtc, 0x08, 0x02);
  setCmos(rtc, 0x07, 0x15);
  setCmos(rtc, 0x32, 0x20);
  assert.deepEqual(timeRegisters(rtc).slice(3), [0x04, 0x15, 0x02, 0x23, 0x20], "Wed 15 Feb 2023");
  assert.deepEqual(timeRegisters(rtc).slice(0, 3), [0x00, 0x00, 0x10], "the time of day was kept");

  // A single field written while running: the others follow the clock.
  clock.advance(3 * 3600_000 + 25_000); // 13:00:25
  setCmos(rtc, 0x02, 0x45);
  assert.deepEqual(timeRegisters(rtc).slice(0, 3), [0x25, 0x45, 0x13]);
  assert.equal(cmos(rtc, 0x07), 0x15);

  // Binary writes decode as binary.
  setCmos(rtc, 0x0b, 0x06);
  setCmos(rtc, 0x04, 7);
  assert.deepEqual(timeRegisters(rtc).slice(0, 3), [25, 45, 7]);
});

test("rtc: the index register masks NMI with bit 7 and selects with bits 0-6", () => {
  const rtc = new CmosRtc({ ramSize: 0, now: () => new Date(0) });
  assert.equal(rtc.nmiDisabled, false);
  wr(rtc, 0, 0x8f); // NMI off, shutdown status byte
  assert.equal(rtc.nmiDisabled, true);
  wr(rtc, 1, 0x0a);
  wr(rtc, 0, 0x0f);
  assert.equal(rtc.nmiDisabled, false);
  assert.equal(rd8(rtc, 1), 0x0a, "the index was 0x0f both times");
  assert.equal(rd8(rtc, 0), 0xff, "the index register is write-only");
});

test("rtc: RAM bytes (shutdown status included) are read and written; status C and D are read-only", () => {
  const rtc = new CmosRtc({ ramSize: 0, now: () => new Date(0) });
  assert.equal(cmos(rtc, 0x0f), 0x00);
  setCmos(rtc, 0x0f, 0x05); // "jump via 40:67 after reset"
  assert.equal(cmos(rtc, 0x0f), 0x05);
  setCmos(rtc, 0x40, 0x5a);
  setCmos(rtc, 0x7f, 0xa5);
  assert.equal(cmos(rtc, 0x40), 0x5a);
  assert.equal(cmos(rtc, 0x7f), 0xa5);
  assert.equal(cmos(rtc, 0xff), 0xa5, "index bit 7 is not part of the address");

  setCmos(rtc, 0x0c, 0xff);
  setCmos(rtc, 0x0d, 0x00);
  assert.equal(cmos(rtc, 0x0c), 0x00);
  assert.equal(cmos(rtc, 0x0d), 0x80);
  setCmos(rtc, 0x0a, 0xa0); // UIP is read-only
  assert.equal(cmos(rtc, 0x0a), 0x20);

  // Only byte accesses are register cycles.
  wr(rtc, 0, 0x40);
  wr(rtc, 1, 0x11, 0x22);
  assert.deepEqual(rd(rtc, 1, 2), [0, 0]);
  wr(rtc, 0, 0x0f, 0x00);
  assert.equal(rd8(rtc, 1), 0x5a, "the word write did not select 0x0f");
  assert.deepEqual(rd(rtc, 2), [0]);
});

function memoryBytes(rtc: CmosRtc): Record<string, number[]> {
  const bytes = (first: number, n: number) => Array.from({ length: n }, (_, i) => cmos(rtc, first + i));
  return {
    base: bytes(0x15, 2),
    extended: bytes(0x17, 2),
    extendedPost: bytes(0x30, 2),
    above16m: bytes(0x34, 2),
    above4g: bytes(0x5b, 3),
  };
}

test("rtc: memory size bytes for small, 128 MiB and 6 GiB machines", () => {
  const now = () => new Date(0);
  assert.deepEqual(memoryBytes(new CmosRtc({ ramSize: 32 << 20, now })), {
    base: [0x80, 0x02], // 640 KiB
    extended: [0x00, 0x7c], // 31 MiB in KiB
    extendedPost: [0x00, 0x7c],
    above16m: [0x00, 0x01], // 16 MiB in 64 KiB units
    above4g: [0, 0, 0],
  });
  assert.deepEqual(memoryBytes(new CmosRtc({ ramSize: 128 << 20, now })), {
    base: [0x80, 0x02],
    extended: [0xff, 0xff], // 127 MiB is more than 0xffff KiB
    extendedPost: [0xff, 0xff],
    above16m: [0x00, 0x07], // 112 MiB
    above4g: [0, 0, 0],
  });
  assert.deepEqual(memoryBytes(new CmosRtc({ ramSize: 6 * 2 ** 30, now })), {
    base: [0x80, 0x02],
    extended: [0xff, 0xff],
    extendedPost: [0xff, 0xff],
    above16m: [0x00, 0xbf], // 3 GiB - 16 MiB below the hole
    above4g: [0x00, 0xc0, 0x00], // the other 3 GiB
  });
  assert.deepEqual(memoryBytes(new CmosRtc({ ramSize: 6 * 2 ** 30, lowRamLimit: 2 ** 31, now })).above4g, [0, 0, 1]);
  assert.deepEqual(memoryBytes(new CmosRtc({ ramSize: 512 << 10, now })), {
    base: [0x80, 0x02],
    extended: [0, 0],
    extendedPost: [0, 0],
    above16m: [0, 0],
    above4g: [0, 0, 0],
  });

  assert.throws(() => new CmosRtc({ ramSize: -1 }), RangeError);
  assert.throws(() => new CmosRtc({ ramSize: 0.5 }), RangeError);
  assert.throws(() => new CmosRtc({ ramSize: 0, lowRamLimit: 5 * 2 ** 30 }), RangeError);
});

test("rtc: any guest bytes in any mode read and write without throwing", () => {
  const rtc = new CmosRtc({ ramSize: 1 << 20, now: fakeClock("2024-03-09T17:05:42Z").now });
  for (const mode of [0x00, 0x02, 0x04, 0x06, 0x82, 0x00]) {
    setCmos(rtc, 0x0b, mode);
    for (let index = 0; index < 0x100; index++) setCmos(rtc, index, 0xff);
    setCmos(rtc, 0x0b, mode & 0x7f);
    for (let index = 0; index < 0x100; index++) cmos(rtc, index);
  }
  const seconds = cmos(rtc, 0x00);
  assert.ok(seconds >= 0 && seconds <= 0xff);
});

test("rtc: snapshot and restore keep RAM, the index, NMI and the guest's clock offset", () => {
  const clock = fakeClock("2024-03-09T17:05:42Z");
  const rtc = new CmosRtc({ ramSize: 128 << 20, now: clock.now });
  setCmos(rtc, 0x09, 0x30); // 2030
  setCmos(rtc, 0x0f, 0x0a);
  setCmos(rtc, 0x0b, 0x06);
  wr(rtc, 0, 0x80 | 0x09);
  const snap = JSON.parse(JSON.stringify(rtc.snapshot()));

  clock.advance(1000);
  const copy = new CmosRtc({ ramSize: 0, now: clock.now });
  copy.restore(snap);
  assert.equal(copy.nmiDisabled, true);
  assert.equal(rd8(copy, 1), 30, "index 0x09, binary mode, year 2030");
  assert.deepEqual(timeRegisters(copy), [43, 5, 17, 7, 9, 3, 30, 20]);
  assert.equal(cmos(copy, 0x0f), 0x0a);
  assert.deepEqual(memoryBytes(copy).above16m, [0x00, 0x07], "memory bytes are RAM and came with it");
  assert.deepEqual(timeRegisters(rtc), timeRegisters(copy));
  assert.deepEqual(copy.snapshot(), rtc.snapshot());
});

// i8042: data at offset 0 (port 0x60), status and command at offset 4 (port 0x64).

const OBF = 0x01;
const SYS = 0x04;
const CMD = 0x08;
const UNLOCKED = 0x10;
const AUX_OBF = 0x20;

function kbc(): { dev: I8042; resets: number[]; irqs: string[] } {
  const resets: number[] = [];
  const irqs: string[] = [];
  const dev = new I8042(
    () => resets.push(1),
    (line, level) => irqs.push(`${line}:${level ? "up" : "down"}`),
  );
  return { dev, resets, irqs };
}

function command(dev: I8042, cmd: number, ...data: number[]): void {
  wr(dev, 4, cmd);
  for (const byte of data) wr(dev, 0, byte);
}

/** Reads the data port while the status says the output buffer is full. */
function drain(dev: I8042): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < 64 && rd8(dev, 4) & OBF; i++) bytes.push(rd8(dev, 0));
  return bytes;
}

function readCtr(dev: I8042): number {
  command(dev, 0x20);
  return rd8(dev, 0);
}

test("i8042: self test answers 0x55 with OBF set, and OBF clears once it is read", () => {
  const { dev } = kbc();
  assert.equal(rd8(dev, 4), SYS | CMD | UNLOCKED, "idle: nothing to read");
  wr(dev, 4, 0xaa);
  assert.equal(rd8(dev, 4), OBF | SYS | CMD | UNLOCKED);
  assert.equal(rd8(dev, 0), 0x55);
  assert.equal(rd8(dev, 4) & OBF, 0);
  assert.equal(rd8(dev, 0), 0x55, "an empty buffer reads its last byte again");
  assert.equal(rd8(dev, 4) & OBF, 0);

  command(dev, 0xab);
  assert.deepEqual(drain(dev), [0x00], "keyboard interface test passed");
  command(dev, 0xa9);
  assert.deepEqual(drain(dev), [0x00], "aux interface test passed");
});

test("i8042: the command byte is read with 0x20 and written with 0x60 and the next data byte", () => {
  const { dev } = kbc();
  assert.equal(readCtr(dev), 0x45, "translation, system flag, keyboard interrupt");
  wr(dev, 4, 0x60);
  assert.equal(rd8(dev, 4) & CMD, CMD);
  wr(dev, 0, 0x30);
  assert.equal(rd8(dev, 4), UNLOCKED, "last write was data; the system flag follows the command byte");
  assert.equal(readCtr(dev), 0x30);

  command(dev, 0xa8); // aux on
  command(dev, 0xae); // keyboard on
  assert.equal(readCtr(dev), 0x00);
  command(dev, 0xa7);
  assert.equal(readCtr(dev), 0x20);
  command(dev, 0xad);
  assert.equal(readCtr(dev), 0x30);
  command(dev, 0xaa);
  assert.deepEqual(drain(dev), [0x55]);
  assert.equal(readCtr(dev), 0x34, "self test sets the system flag");

  // A command abandons one still waiting for its data: this data byte goes to the keyboard.
  command(dev, 0x60);
  command(dev, 0xa8);
  wr(dev, 0, 0xf4);
  assert.deepEqual(drain(dev), [0xfa]);
  assert.equal(readCtr(dev), 0x04, "not written as the command byte; talking to the keyboard enabled it");
});

test("i8042: keyboard commands are acknowledged through the output queue", () => {
  const { dev } = kbc();
  wr(dev, 0, 0xff);
  assert.equal(rd8(dev, 4) & OBF, OBF);
  assert.equal(rd8(dev, 0), 0xfa);
  assert.equal(rd8(dev, 4) & OBF, OBF);
  assert.equal(rd8(dev, 0), 0xaa);
  assert.equal(rd8(dev, 4) & OBF, 0);

  for (const cmd of [0xf4, 0xf5, 0xf6]) {
    wr(dev, 0, cmd);
    assert.deepEqual(drain(dev), [0xfa], `command 0x${cmd.toString(16)}`);
  }
  command(dev, 0x60, 0x05); // no translation
  const exchanges = [
    { what: "LEDs", sent: [0xed, 0x07], reply: [0xfa, 0xfa] },
    { what: "typematic", sent: [0xf3, 0x20], reply: [0xfa, 0xfa] },
    { what: "scan code set 1", sent: [0xf0, 0x01], reply: [0xfa, 0xfa] },
    { what: "which set?", sent: [0xf0, 0x00], reply: [0xfa, 0xfa, 0x01] },
    { what: "identify: MF2", sent: [0xf2], reply: [0xfa, 0xab, 0x83] },
    { what: "echo", sent: [0xee], reply: [0xee] },
    { what: "not a command: resend", sent: [0x42], reply: [0xfe] },
  ];
  for (const { what, sent, reply } of exchanges) {
    for (const byte of sent) wr(dev, 0, byte);
    assert.deepEqual(drain(dev), reply, what);
  }
  wr(dev, 0, 0xff);
  wr(dev, 0, 0xf0);
  wr(dev, 0, 0x00);
  assert.deepEqual(drain(dev), [0xfa, 0xaa, 0xfa, 0xfa, 0x02], "reset restored set 2");

  // With translation on, set 2 bytes arrive as set 1: the ID's 0x83 is 0x41, set 2 is 0x41.
  command(dev, 0x60, 0x45);
  wr(dev, 0, 0xf2);
  assert.deepEqual(drain(dev), [0xfa, 0xab, 0x41]);
  wr(dev, 0, 0xf0);
  wr(dev, 0, 0x00);
  assert.deepEqual(drain(dev), [0xfa, 0xfa, 0x41]);
});

test("i8042: keyboard bytes wait while the keyboard is disabled; controller replies do not", () => {
  const { dev } = kbc();
  wr(dev, 0, 0xff); // 0xfa in the output buffer, 0xaa still in the keyboard
  command(dev, 0xad);
  assert.equal(rd8(dev, 0), 0xfa);
  assert.equal(rd8(dev, 4) & OBF, 0, "0xaa is held back");
  assert.equal(readCtr(dev), 0x55, "a reply comes through anyway");
  command(dev, 0xae);
  assert.deepEqual(drain(dev), [0xaa]);

  // A controller reply goes before keyboard bytes still queued.
  wr(dev, 0, 0xf2); // 0xfa in the buffer; 0xab, 0x41 queued
  command(dev, 0xaa);
  assert.deepEqual(drain(dev), [0xfa, 0x55, 0xab, 0x41]);

  // Unread, the output buffer holds one byte and the keyboard's buffer 16 more; the rest are lost.
  for (let i = 0; i < 20; i++) wr(dev, 0, 0xee);
  assert.deepEqual(drain(dev), new Array(17).fill(0xee));
});

test("i8042: 0xd2 and 0xd3 echo a byte as keyboard or aux data; 0xd4 reaches no mouse", () => {
  const { dev } = kbc();
  command(dev, 0xd2, 0x5a);
  assert.equal(rd8(dev, 4) & (OBF | AUX_OBF), OBF);
  assert.equal(rd8(dev, 0), 0x5a);
  command(dev, 0xd3, 0xa5);
  assert.equal(rd8(dev, 4) & (OBF | AUX_OBF), OBF | AUX_OBF);
  assert.equal(rd8(dev, 0), 0xa5);
  assert.equal(rd8(dev, 4) & (OBF | AUX_OBF), 0);
  command(dev, 0xd4, 0xff);
  assert.deepEqual(drain(dev), [], "no mouse answers");
  wr(dev, 0, 0xee);
  assert.deepEqual(drain(dev), [0xee], "the 0xd4 data byte was consumed; the next goes to the keyboard");
});

test("i8042: IRQ 1 and 12 follow the output buffer when the command byte enables them", () => {
  const { dev, irqs } = kbc();
  wr(dev, 0, 0xf4);
  assert.deepEqual(irqs, ["1:up"]);
  rd8(dev, 0);
  assert.deepEqual(irqs, ["1:up", "1:down"]);

  irqs.length = 0;
  wr(dev, 0, 0xff); // two bytes: the line stays up until both are read
  rd8(dev, 0);
  assert.deepEqual(irqs, ["1:up"]);
  rd8(dev, 0);
  assert.deepEqual(irqs, ["1:up", "1:down"]);

  irqs.length = 0;
  command(dev, 0xd3, 0x11);
  assert.deepEqual(irqs, [], "aux interrupts are off");
  rd8(dev, 0);
  command(dev, 0x60, 0x02); // aux interrupt only
  command(dev, 0xd3, 0x11);
  assert.deepEqual(irqs, ["12:up"]);
  rd8(dev, 0);
  command(dev, 0xd2, 0x22);
  rd8(dev, 0);
  assert.deepEqual(irqs, ["12:up", "12:down"], "keyboard data with IRQ 1 off raises nothing");

  irqs.length = 0;
  command(dev, 0xd2, 0x33);
  command(dev, 0x60, 0x01); // enabling IRQ 1 with data waiting raises it at once
  assert.deepEqual(irqs, ["1:up"]);
});

test("i8042: 0xfe, the other even pulse commands and output port writes with bit 0 clear reset the CPU", () => {
  const { dev, resets } = kbc();
  command(dev, 0xd0);
  assert.equal(rd8(dev, 0), 0xcf, "reset released, A20 on");
  command(dev, 0xd1, 0xdf); // A20 on, reset line high: no reset
  assert.equal(resets.length, 0);
  command(dev, 0xd1, 0xcd); // A20 off
  command(dev, 0xd0);
  assert.equal(rd8(dev, 0), 0xcd);
  wr(dev, 0, 0xf4);
  command(dev, 0xd0);
  assert.deepEqual(drain(dev), [0xfa, 0xdd], "bit 4 showed the keyboard's ACK waiting");

  wr(dev, 4, 0xfe);
  assert.equal(resets.length, 1);
  wr(dev, 4, 0xff); // pulses nothing
  wr(dev, 4, 0xfd); // pulses bit 1, not the reset line
  assert.equal(resets.length, 1);
  wr(dev, 4, 0xf0); // pulses bits 0-3
  assert.equal(resets.length, 2);
  command(dev, 0xd1, 0xfe); // bit 0 clear
  assert.equal(resets.length, 3);
  assert.deepEqual(drain(dev), [], "nothing to read after resets");
});

test("i8042: offsets 1-3 and non-byte accesses do nothing", () => {
  const { dev, resets } = kbc();
  for (const offset of [1, 2, 3]) {
    assert.deepEqual(rd(dev, offset), [0]);
    wr(dev, offset, 0xfe);
  }
  wr(dev, 4, 0xfe, 0x00);
  wr(dev, 0, 0xff, 0xff);
  assert.equal(resets.length, 0);
  assert.deepEqual(drain(dev), []);
  wr(dev, 4, 0xaa);
  assert.deepEqual(rd(dev, 0, 2), [0, 0], "a word read is not a register read");
  assert.deepEqual(rd(dev, 4, 4), [0, 0, 0, 0]);
  assert.deepEqual(drain(dev), [0x55]);
});

test("i8042: snapshot and restore keep queued bytes, pending commands and the command byte", () => {
  const { dev } = kbc();
  command(dev, 0x60, 0x05);
  wr(dev, 0, 0xf2); // 0xfa in the buffer, 0xab 0x83 queued
  wr(dev, 4, 0xd1); // waiting for the output port byte
  const snap = JSON.parse(JSON.stringify(dev.snapshot()));

  const copy = kbc();
  copy.dev.restore(snap);
  assert.deepEqual(copy.irqs, ["1:up"], "restore reasserts the line");
  wr(copy.dev, 0, 0xfe); // the output port byte, with the reset line low
  assert.equal(copy.resets.length, 1);
  assert.deepEqual(drain(copy.dev), [0xfa, 0xab, 0x83]);
  assert.equal(readCtr(copy.dev), 0x05);

  // The original is untouched by the copy.
  assert.deepEqual(drain(dev), [0xfa, 0xab, 0x83]);
});

// Reset registers.

test("port 0x92: bit 0 resets, bit 1 is the A20 gate, reads return the value with bit 0 clear", () => {
  const resets: number[] = [];
  const port = new SystemControlPortA(() => resets.push(1));
  assert.equal(rd8(port, 0), 0x02, "A20 on");
  assert.equal(port.a20Enabled, true);
  wr(port, 0, 0x00);
  assert.equal(port.a20Enabled, false);
  assert.equal(rd8(port, 0), 0x00);
  assert.equal(resets.length, 0);

  wr(port, 0, 0x03);
  assert.equal(resets.length, 1);
  assert.equal(rd8(port, 0), 0x02);
  wr(port, 0, 0x03);
  assert.equal(resets.length, 2, "every write of 1 is a new pulse");
  wr(port, 0, 0xc2);
  assert.equal(rd8(port, 0), 0xc2);
  assert.equal(resets.length, 2);

  wr(port, 0, 0x01, 0x00);
  wr(port, 1, 0x01);
  assert.equal(resets.length, 2, "only byte writes at the port itself");
  assert.deepEqual(rd(port, 0, 2), [0, 0]);

  const copy = new SystemControlPortA(() => resets.push(2));
  copy.restore(JSON.parse(JSON.stringify(port.snapshot())));
  assert.equal(rd8(copy, 0), 0xc2);
  copy.restore({ value: 0x03 });
  assert.equal(rd8(copy, 0), 0x02);
  assert.deepEqual(resets, [1, 1]);
});

test("port 0xcf9: setting RST_CPU resets, soft or hard; reads return the value with RST_CPU clear", () => {
  const resets: boolean[] = [];
  const rcr = new ResetControlRegister(() => resets.push(rcr.hardReset));
  assert.equal(rd8(rcr, 0), 0x00);

  // Linux's BOOT_CF9_FORCE: SYS_RST first, then SYS_RST | RST_CPU (| FULL_RST for a cold reboot).
  wr(rcr, 0, 0x02);
  assert.equal(resets.length, 0);
  assert.equal(rd8(rcr, 0), 0x02);
  wr(rcr, 0, 0x06);
  assert.deepEqual(resets, [true]);
  assert.equal(rd8(rcr, 0), 0x02);
  wr(rcr, 0, 0x0e);
  assert.deepEqual(resets, [true, true]);
  assert.equal(rd8(rcr, 0), 0x0a);
  wr(rcr, 0, 0x04); // soft reset: the CPU only
  assert.deepEqual(resets, [true, true, false]);
  assert.equal(rd8(rcr, 0), 0x00);

  wr(rcr, 0, 0x06, 0x00, 0x00, 0x00); // a dword at 0xcf8 would be PCI's, never this register's
  wr(rcr, 1, 0x06);
  assert.equal(resets.length, 3);
  assert.deepEqual(rd(rcr, 0, 4), [0, 0, 0, 0]);

  wr(rcr, 0, 0x0a);
  const copy = new ResetControlRegister(() => resets.push(false));
  copy.restore(JSON.parse(JSON.stringify(rcr.snapshot())));
  assert.equal(rd8(copy, 0), 0x0a);
  assert.equal(copy.hardReset, true);
  copy.restore({ value: 0xff });
  assert.equal(rd8(copy, 0), 0xfb);
  assert.equal(resets.length, 3);
});
