// The 16550A model through its registers, as a guest driver sees it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Uart16550 } from "../src/devices/legacy/uart16550.js";

const THR = 0;
const IER = 1;
const IIR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;

function uart() {
  const out: number[] = [];
  const irq: boolean[] = [];
  const u = new Uart16550(
    (b) => out.push(b),
    (level) => irq.push(level),
  );
  const rd = (reg: number) => {
    const d = new Uint8Array(1);
    u.read(reg, d);
    return d[0] as number;
  };
  const wr = (reg: number, v: number) => u.write(reg, Uint8Array.of(v));
  return { u, out, irq, rd, wr };
}

test("transmit: THR bytes go out, LSR says the transmitter is empty, the divisor latch hides THR", () => {
  const { out, rd, wr } = uart();
  assert.equal(rd(LSR) & 0x60, 0x60);
  wr(THR, 0x41);
  assert.deepEqual(out, [0x41]);
  wr(LCR, 0x80); // DLAB
  wr(THR, 0x01); // divisor latch low, not a byte to send
  wr(IER, 0x00);
  assert.equal(rd(THR), 0x01);
  assert.equal(rd(IER), 0x00);
  wr(LCR, 0x03);
  assert.deepEqual(out, [0x41]);
  wr(SCR, 0x5a);
  assert.equal(rd(SCR), 0x5a);
});

test("receive: data ready, the RDA interrupt, and FIFO depth (16 with FIFOs, 1 without)", () => {
  const { u, irq, rd, wr } = uart();
  assert.equal(u.receive(Uint8Array.of(1, 2, 3)), 1, "16450 mode holds one byte");
  assert.equal(rd(LSR) & 0x01, 0x01);
  wr(IER, 0x01);
  assert.deepEqual(irq, [true]);
  assert.equal(rd(IIR), 0x04, "received data available");
  assert.equal(rd(THR), 1);
  assert.equal(rd(LSR) & 0x01, 0);
  assert.deepEqual(irq, [true, false]);
  wr(IIR, 0x01); // FCR: enable FIFOs
  assert.equal(u.receive(new Uint8Array(20).fill(7)), 16);
  assert.equal(rd(IIR), 0xc4, "FIFO bits set in IIR");
  wr(IIR, 0x03); // FCR: clear the receive FIFO
  assert.equal(rd(LSR) & 0x01, 0);
  assert.equal(u.rxSpace, 16);
});

test("THR-empty interrupt: raised when enabled and after each byte, acknowledged by reading IIR", () => {
  const { irq, rd, wr } = uart();
  wr(IER, 0x02);
  assert.deepEqual(irq, [true]);
  assert.equal(rd(IIR), 0x02);
  assert.deepEqual(irq, [true, false], "reading IIR acknowledged it");
  assert.equal(rd(IIR), 0x01, "nothing pending");
  wr(THR, 0x42);
  assert.deepEqual(irq, [true, false, true]);
  wr(IER, 0x00);
  assert.deepEqual(irq, [true, false, true, false]);
});

test("priorities: received data is reported before THR empty", () => {
  const { u, rd, wr } = uart();
  wr(IER, 0x03);
  u.receive(Uint8Array.of(9));
  assert.equal(rd(IIR), 0x04);
  rd(THR);
  assert.equal(rd(IIR), 0x02);
});

test("loopback: transmitted bytes come back, the modem lines follow MCR, overrun is flagged", () => {
  const { u, out, rd, wr } = uart();
  wr(MCR, 0x10 | 0x0f);
  assert.equal(rd(MSR) & 0xf0, 0xf0);
  wr(MCR, 0x10 | 0x02); // RTS only
  assert.equal(rd(MSR) & 0xf0, 0x10, "RTS -> CTS");
  wr(THR, 0x33);
  assert.deepEqual(out, [], "nothing leaves in loopback");
  assert.equal(rd(LSR) & 0x01, 0x01);
  wr(THR, 0x34); // the one-byte receiver is full
  assert.equal(rd(LSR) & 0x02, 0x02, "overrun");
  assert.equal(rd(LSR) & 0x02, 0, "overrun clears on read");
  assert.equal(rd(THR), 0x33);
  assert.equal(u.receive(Uint8Array.of(1)), 0, "external input is cut off in loopback");
  wr(MCR, 0x00);
  assert.equal(rd(MSR) & 0xb0, 0xb0, "an idle peer: CTS, DSR, DCD");
});

test("wider accesses and unknown offsets never throw and change nothing", () => {
  const { u, out, rd } = uart();
  const wide = new Uint8Array(4).fill(0xaa);
  u.write(THR, wide);
  u.read(LSR, wide);
  assert.deepEqual([...wide], [0, 0, 0, 0]);
  u.write(42, Uint8Array.of(1));
  assert.equal(rd(42), 0xff);
  assert.deepEqual(out, []);
});

test("snapshot and restore carry the registers and the receive FIFO", () => {
  const a = uart();
  a.wr(IIR, 0x01);
  a.wr(IER, 0x01);
  a.wr(SCR, 0x77);
  a.u.receive(Uint8Array.of(5, 6));
  const b = uart();
  b.u.restore(a.u.snapshot());
  assert.deepEqual(b.irq, [true], "the restored interrupt line is raised");
  assert.equal(b.rd(SCR), 0x77);
  assert.equal(b.rd(THR), 5);
  assert.equal(b.rd(THR), 6);
});
