// The IOAPIC model through its registers, as a guest's driver programs it: IOREGSEL/IOWIN, the redirection
// table, edge and level lines, Remote IRR until EOI (broadcast or the EOI register), masking and polarity.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ApicMessage, DeliveryMode, DestMode, TriggerMode } from "../src/devices/irqchip/apic_message.js";
import { Ioapic } from "../src/devices/irqchip/ioapic.js";

const IOREGSEL = 0x00;
const IOWIN = 0x10;
const IOEOI = 0x40;
const REG_ID = 0x00;
const REG_VERSION = 0x01;
const REG_ARBITRATION = 0x02;
const rteLow = (pin: number) => 0x10 + 2 * pin;
const rteHigh = (pin: number) => 0x11 + 2 * pin;

const MASKED = 1 << 16;
const LEVEL = 1 << 15;
const REMOTE_IRR = 1 << 14;
const ACTIVE_LOW = 1 << 13;
const LOGICAL = 1 << 11;

function ioapic(opts: { version?: number; accept?: boolean } = {}) {
  const sent: ApicMessage[] = [];
  const io = new Ioapic({
    id: 4,
    ...(opts.version === undefined ? {} : { version: opts.version }),
    send: (msg) => {
      sent.push(msg);
      return opts.accept ?? true;
    },
  });
  const u32 = (v: number) => new Uint8Array(new Uint32Array([v]).buffer);
  const rd = (index: number) => {
    io.write(IOREGSEL, Uint8Array.of(index));
    const d = new Uint8Array(4);
    io.read(IOWIN, d);
    return new Uint32Array(d.buffer)[0] as number;
  };
  const wr = (index: number, v: number) => {
    io.write(IOREGSEL, Uint8Array.of(index));
    io.write(IOWIN, u32(v));
  };
  const route = (pin: number, low: number, dest = 0) => {
    wr(rteHigh(pin), dest << 24);
    wr(rteLow(pin), low);
  };
  return { io, sent, rd, wr, route, u32 };
}

test("ID, version 0x20 with 24 pins, arbitration; every entry comes out of reset masked", () => {
  const { io, rd, wr } = ioapic();
  assert.equal(rd(REG_ID), 4 << 24);
  assert.equal(rd(REG_VERSION), 0x00170020, "max redirection entry 23, version 0x20");
  assert.equal(rd(REG_ARBITRATION), 4 << 24);
  wr(REG_ID, 9 << 24);
  assert.equal(rd(REG_ID), 9 << 24);
  wr(REG_VERSION, 0);
  assert.equal(rd(REG_VERSION), 0x00170020, "read-only");
  for (let pin = 0; pin < 24; pin++) assert.equal(rd(rteLow(pin)), MASKED);
  // IOREGSEL reads back; a byte read of IOWIN sees the low byte.
  io.write(IOREGSEL, Uint8Array.of(REG_VERSION));
  const sel = new Uint8Array(4);
  io.read(IOREGSEL, sel);
  assert.equal(sel[0], REG_VERSION);
  const b = new Uint8Array(1);
  io.read(IOWIN, b);
  assert.equal(b[0], 0x20);
});

test("redirection entries: programmable fields read back; delivery status and Remote IRR are read-only", () => {
  const { rd, route } = ioapic();
  const low = 0x31 | (DeliveryMode.LOWEST << 8) | LOGICAL | ACTIVE_LOW | LEVEL | MASKED;
  route(5, low | REMOTE_IRR | (1 << 12), 0xa5);
  assert.equal(rd(rteLow(5)), low);
  assert.equal(rd(rteHigh(5)), 0xa5000000);
  assert.equal(rd(rteHigh(6)), 0);
});

test("edge: a rising edge delivers one fixed message to the entry's destination; holding or lowering does not", () => {
  const { io, sent, route } = ioapic();
  route(4, 0x24, 1); // COM1: vector 0x24, fixed, physical, to APIC 1
  io.setIrq(4, true);
  assert.deepEqual(sent, [
    { vector: 0x24, deliveryMode: DeliveryMode.FIXED, destMode: DestMode.PHYSICAL, dest: 1, level: true, trigger: 0 },
  ]);
  io.setIrq(4, true);
  io.setIrq(4, false);
  assert.equal(sent.length, 1);
  io.setIrq(4, true);
  assert.equal(sent.length, 2, "the next edge delivers again: no EOI needed");
});

test("level: delivers while asserted, Remote IRR holds redelivery until EOI, EOI redelivers a line still high", () => {
  const { io, sent, rd, route } = ioapic();
  route(10, 0x3a | LEVEL, 0);
  io.setIrq(10, true);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]?.trigger, TriggerMode.LEVEL);
  assert.ok(rd(rteLow(10)) & REMOTE_IRR);
  io.setIrq(10, true);
  assert.equal(sent.length, 1, "Remote IRR: no redelivery before EOI");
  io.eoi(0x3b);
  assert.equal(sent.length, 1, "an EOI of another vector changes nothing");
  io.eoi(0x3a);
  assert.equal(sent.length, 2, "still asserted: delivered again");
  assert.ok(rd(rteLow(10)) & REMOTE_IRR);
  io.setIrq(10, false);
  io.eoi(0x3a);
  assert.equal(rd(rteLow(10)) & REMOTE_IRR, 0);
  assert.equal(sent.length, 2, "the line went down: nothing more");
});

test("the EOI register (version 0x20) clears Remote IRR; a version 0x11 IOAPIC has none", () => {
  const v20 = ioapic();
  v20.route(3, 0x40 | LEVEL);
  v20.io.setIrq(3, true);
  v20.io.write(IOEOI, v20.u32(0x40));
  assert.equal(v20.sent.length, 2);

  const v11 = ioapic({ version: 0x11 });
  assert.equal(v11.rd(REG_VERSION), 0x00170011);
  v11.route(3, 0x40 | LEVEL);
  v11.io.setIrq(3, true);
  v11.io.write(IOEOI, v11.u32(0x40));
  assert.equal(v11.sent.length, 1);
  assert.ok(v11.rd(rteLow(3)) & REMOTE_IRR);
});

test("Remote IRR is set only when some local APIC accepted the message", () => {
  const { io, sent, rd, route } = ioapic({ accept: false });
  route(7, 0x47 | LEVEL);
  io.setIrq(7, true);
  assert.equal(sent.length, 1);
  assert.equal(rd(rteLow(7)) & REMOTE_IRR, 0);
});

test("masking: masked edges are lost; a masked level line delivers once unmasked", () => {
  const { io, sent, route } = ioapic();
  route(1, 0x21 | MASKED);
  io.setIrq(1, true);
  io.setIrq(1, false);
  route(1, 0x21);
  assert.equal(sent.length, 0, "the edge came while masked");

  route(9, 0x29 | LEVEL | MASKED);
  io.setIrq(9, true);
  assert.equal(sent.length, 0);
  route(9, 0x29 | LEVEL);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]?.vector, 0x29);
});

test("polarity: an active-low entry is asserted while its pin is low", () => {
  const { io, sent, route } = ioapic();
  io.setIrq(11, true); // the line idles high
  route(11, 0x2b | LEVEL | ACTIVE_LOW);
  assert.equal(sent.length, 0);
  io.setIrq(11, false);
  assert.equal(sent.length, 1);
  io.setIrq(11, true);
  io.eoi(0x2b);
  assert.equal(sent.length, 1, "deasserted by EOI time");
});

test("switching an entry to edge clears Remote IRR; NMI, INIT and ExtINT entries are sent as edges", () => {
  const { io, sent, rd, route } = ioapic();
  route(2, 0x50 | LEVEL);
  io.setIrq(2, true);
  assert.ok(rd(rteLow(2)) & REMOTE_IRR);
  route(2, 0x50);
  assert.equal(rd(rteLow(2)) & REMOTE_IRR, 0);

  route(12, (DeliveryMode.NMI << 8) | LEVEL, 0xff);
  io.setIrq(12, true);
  const nmi = sent.at(-1);
  assert.equal(nmi?.deliveryMode, DeliveryMode.NMI);
  assert.equal(nmi?.trigger, TriggerMode.EDGE);
  assert.equal(nmi?.dest, 0xff);
  assert.equal(rd(rteLow(12)) & REMOTE_IRR, 0);

  route(0, DeliveryMode.EXTINT << 8);
  io.setIrq(0, true);
  assert.equal(sent.at(-1)?.deliveryMode, DeliveryMode.EXTINT);
});

test("out-of-range pins are a programming error", () => {
  const { io } = ioapic();
  assert.throws(() => io.setIrq(24, true), RangeError);
});

test("byte-wide IOWIN writes change one byte of the selected register", () => {
  const { io, rd, route } = ioapic();
  route(6, 0x26 | MASKED);
  io.write(IOREGSEL, Uint8Array.of(rteLow(6)));
  io.write(IOWIN + 2, Uint8Array.of(0)); // bits 16-23: unmask
  assert.equal(rd(rteLow(6)), 0x26);
});
