// The 8259A pair through its ports, as Linux and SeaBIOS program it, and the CPU's INTA through `acknowledge`.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { BusDevice } from "../src/bus/io_bus.js";
import { I8259Pair } from "../src/devices/irqchip/i8259.js";

const CMD = 0;
const DATA = 1;
const LINUX_VECTOR_BASE = 0x30; // ISA_IRQ_VECTOR(0) on x86-64
const SEABIOS_MASTER_BASE = 0x08;
const SEABIOS_SLAVE_BASE = 0x70;
const EOI = 0x20;
const SPECIFIC_EOI = 0x60;
const READ_IRR = 0x0a;
const READ_ISR = 0x0b;
const POLL = 0x0c;

function ports(device: BusDevice) {
  return {
    rd(offset: number): number {
      const d = new Uint8Array(1);
      device.read(offset, d);
      return d[0] as number;
    },
    wr(offset: number, value: number): void {
      device.write(offset, Uint8Array.of(value));
    },
  };
}

function pic() {
  const intr: boolean[] = [];
  const p = new I8259Pair((level) => intr.push(level));
  return { p, intr, master: ports(p.master), slave: ports(p.slave), elcr: ports(p.elcr) };
}

type Pic = ReturnType<typeof pic>;

/** arch/x86/kernel/i8259.c: probe, then init_8259A(auto_eoi) and restore the masks. */
function linuxInit(pc: Pic, masterMask: number, slaveMask: number, autoEoi = false): void {
  const { master, slave } = pc;
  master.wr(DATA, 0xff);
  assert.equal(master.rd(DATA), 0xff, "probe_8259A reads the mask back");
  slave.wr(DATA, 0xff);
  master.wr(CMD, 0x11); // ICW1: edge, cascade, ICW4 follows
  master.wr(DATA, LINUX_VECTOR_BASE); // ICW2
  master.wr(DATA, 0x04); // ICW3: slave on IR2
  master.wr(DATA, autoEoi ? 0x03 : 0x01); // ICW4: 8086 mode (and auto-EOI)
  slave.wr(CMD, 0x11);
  slave.wr(DATA, LINUX_VECTOR_BASE + 8);
  slave.wr(DATA, 0x02); // ICW3: cascade identity 2
  slave.wr(DATA, 0x01);
  master.wr(DATA, masterMask);
  slave.wr(DATA, slaveMask);
}

/** SeaBIOS's pic_reset: the two chips' ICWs interleaved, vectors 0x08 and 0x70, all but the cascade masked. */
function seabiosInit(pc: Pic): void {
  const { master, slave } = pc;
  master.wr(CMD, 0x11);
  slave.wr(CMD, 0x11);
  master.wr(DATA, SEABIOS_MASTER_BASE);
  slave.wr(DATA, SEABIOS_SLAVE_BASE);
  master.wr(DATA, 0x04);
  slave.wr(DATA, 0x02);
  master.wr(DATA, 0x01);
  slave.wr(DATA, 0x01);
  master.wr(DATA, 0xfb);
  slave.wr(DATA, 0xff);
}

function pulse(p: I8259Pair, irq: number): void {
  p.setIrq(irq, true);
  p.setIrq(irq, false);
}

test("Linux's init: vectors from 0x30, the cascade for IRQ 8-15, specific EOIs on both chips", () => {
  const pc = pic();
  const { p, intr, master, slave } = pc;
  linuxInit(pc, 0xfa, 0xfe); // IRQ 0 and 2 unmasked on the master, 8 on the slave
  assert.equal(master.rd(DATA), 0xfa);
  assert.equal(slave.rd(DATA), 0xfe);
  assert.equal(p.hasInterrupt(), false);

  pulse(p, 0);
  assert.equal(p.intr, true);
  assert.deepEqual(intr, [true]);
  assert.equal(p.acknowledge(), 0x30);
  assert.equal(p.intr, false, "IRQ 0 in service; nothing else pending");
  master.wr(CMD, READ_ISR);
  assert.equal(master.rd(CMD), 0x01);
  master.wr(CMD, SPECIFIC_EOI | 0);
  assert.equal(master.rd(CMD), 0x00);

  pulse(p, 8);
  assert.equal(p.intr, true);
  assert.equal(p.acknowledge(), 0x38);
  slave.wr(CMD, READ_ISR);
  assert.equal(slave.rd(CMD), 0x01);
  assert.equal(master.rd(CMD), 0x04, "the master has IR2 in service");
  slave.wr(CMD, SPECIFIC_EOI | 0);
  master.wr(CMD, SPECIFIC_EOI | 2);
  assert.equal(slave.rd(CMD) | master.rd(CMD), 0);
  assert.deepEqual(intr, [true, false, true, false]);
});

test("masking: a masked request waits in IRR and raises INTR when unmasked", () => {
  const pc = pic();
  const { p, master, slave } = pc;
  linuxInit(pc, 0xff, 0xff);
  pulse(p, 4);
  pulse(p, 12);
  assert.equal(p.hasInterrupt(), false);
  master.wr(CMD, READ_IRR);
  assert.equal(master.rd(CMD), 0x10);
  assert.equal(slave.rd(CMD), 0x10);
  slave.wr(DATA, 0xef); // IRQ 12 unmasked on the slave, but the cascade is still masked
  assert.equal(p.hasInterrupt(), false);
  master.wr(DATA, 0xfb);
  assert.equal(p.acknowledge(), 0x3c);
  master.wr(DATA, 0xeb);
  assert.equal(p.hasInterrupt(), false, "IRQ 4 is lower than IR2, which is in service");
  master.wr(CMD, EOI);
  assert.equal(p.acknowledge(), 0x34);
});

test("SeaBIOS: fully nested priorities and non-specific EOI; IRQ 8 at 0x70 with its EOI to both", () => {
  const pc = pic();
  const { p, master, slave } = pc;
  seabiosInit(pc);
  slave.wr(DATA, 0xfe);
  pulse(p, 8);
  assert.equal(p.acknowledge(), 0x70);
  slave.wr(CMD, EOI); // eoi_pic2
  master.wr(CMD, EOI);
  master.wr(DATA, 0x00);
  pulse(p, 3);
  pulse(p, 1);
  assert.equal(p.acknowledge(), 0x09, "IRQ 1 before IRQ 3");
  assert.equal(p.hasInterrupt(), false, "IRQ 3 waits for IRQ 1's EOI");
  pulse(p, 0);
  assert.equal(p.acknowledge(), 0x08, "IRQ 0 nests inside IRQ 1");
  master.wr(CMD, READ_ISR);
  assert.equal(master.rd(CMD), 0x03);
  master.wr(CMD, EOI); // clears the highest in service: IRQ 0
  assert.equal(master.rd(CMD), 0x02);
  assert.equal(p.hasInterrupt(), false);
  master.wr(CMD, EOI);
  assert.equal(p.acknowledge(), 0x0b);
  master.wr(CMD, EOI);
  assert.equal(master.rd(CMD), 0);
});

test("edge and level: the ELCR, its fixed edge lines, and ICW1.LTIM", () => {
  const pc = pic();
  const { p, master, slave, elcr } = pc;
  linuxInit(pc, 0x00, 0x00);
  elcr.wr(0, 0xff);
  elcr.wr(1, 0xff);
  assert.equal(elcr.rd(0), 0xf8, "IRQ 0-2 stay edge-triggered");
  assert.equal(elcr.rd(1), 0xde, "IRQ 8 and 13 stay edge-triggered");
  const word = new Uint8Array(2);
  p.elcr.read(0, word);
  assert.deepEqual([...word], [0xf8, 0xde]);

  // Level IRQ 10 held high: in service, then requested again after EOI, until the device drops it.
  p.setIrq(10, true);
  assert.equal(p.acknowledge(), 0x3a);
  slave.wr(CMD, EOI);
  master.wr(CMD, EOI);
  assert.equal(p.acknowledge(), 0x3a, "still asserted: requested again");
  p.setIrq(10, false);
  slave.wr(CMD, EOI);
  master.wr(CMD, EOI);
  assert.equal(p.hasInterrupt(), false);

  // Edge IRQ 10: a line held high requests once.
  elcr.wr(1, 0x00);
  p.setIrq(10, true);
  assert.equal(p.acknowledge(), 0x3a);
  slave.wr(CMD, EOI);
  master.wr(CMD, EOI);
  assert.equal(p.hasInterrupt(), false);
  p.setIrq(10, false);

  // ICW1.LTIM makes every master line level-triggered.
  master.wr(CMD, 0x19);
  master.wr(DATA, LINUX_VECTOR_BASE);
  master.wr(DATA, 0x04);
  master.wr(DATA, 0x01);
  p.setIrq(5, true);
  assert.equal(p.acknowledge(), 0x35);
  master.wr(CMD, EOI);
  assert.equal(p.acknowledge(), 0x35);
});

test("spurious IRQ 7 and 15: the request left before INTA", () => {
  const pc = pic();
  const { p, master, slave, elcr } = pc;
  linuxInit(pc, 0x00, 0x00);
  elcr.wr(0, 0x20); // IRQ 5 level
  elcr.wr(1, 0x02); // IRQ 9 level
  p.setIrq(5, true);
  assert.equal(p.intr, true);
  p.setIrq(5, false);
  assert.equal(p.acknowledge(), 0x37);
  master.wr(CMD, READ_ISR);
  assert.equal(master.rd(CMD), 0, "no IRQ 7 in service: Linux's i8259A_irq_real sees it spurious");

  pulse(p, 6);
  master.wr(DATA, 0x40); // masked between INTR and INTA
  assert.equal(p.acknowledge(), 0x37);
  master.wr(DATA, 0x00);
  assert.equal(p.acknowledge(), 0x36);
  master.wr(CMD, EOI);

  p.setIrq(9, true);
  p.setIrq(9, false);
  // The slave's INT fell with the line, but the master latched the edge on IR2.
  assert.equal(p.acknowledge(), 0x3f, "the slave answers with IRQ 15");
  slave.wr(CMD, READ_ISR);
  assert.equal(slave.rd(CMD), 0);
  assert.equal(master.rd(CMD), 0x04, "the master's IR2 is in service: the guest EOIs only the master");
});

test("poll mode: the read after OCW3 P acknowledges and returns the level", () => {
  const pc = pic();
  const { p, master } = pc;
  linuxInit(pc, 0x00, 0x00);
  master.wr(CMD, POLL);
  assert.equal(master.rd(CMD), 0x00, "nothing pending");
  pulse(p, 3);
  pulse(p, 6);
  master.wr(CMD, POLL);
  assert.equal(master.rd(DATA), 0x83, "either port");
  master.wr(CMD, READ_ISR);
  assert.equal(master.rd(CMD), 0x08);
  assert.equal(master.rd(DATA), 0x00, "one read only: the mask again");
  master.wr(CMD, EOI);
  master.wr(CMD, POLL);
  assert.equal(master.rd(CMD), 0x86);
});

test("auto-EOI: nothing stays in service; rotation in auto-EOI mode", () => {
  const pc = pic();
  const { p, master } = pc;
  linuxInit(pc, 0x00, 0x00, true);
  pulse(p, 3);
  pulse(p, 4);
  assert.equal(p.acknowledge(), 0x33);
  master.wr(CMD, READ_ISR);
  assert.equal(master.rd(CMD), 0);
  assert.equal(p.acknowledge(), 0x34, "no EOI needed");

  master.wr(CMD, 0x80); // rotate in auto-EOI mode: the level served becomes the lowest
  pulse(p, 1);
  assert.equal(p.acknowledge(), 0x31);
  pulse(p, 0);
  pulse(p, 5);
  assert.equal(p.acknowledge(), 0x35, "IRQ 1 lowest: 2..7 then 0");
  assert.equal(p.acknowledge(), 0x30);
});

test("rotation: rotate on non-specific EOI, set priority, rotate on specific EOI", () => {
  const pc = pic();
  const { p, master } = pc;
  linuxInit(pc, 0x00, 0x00);
  pulse(p, 1);
  assert.equal(p.acknowledge(), 0x31);
  master.wr(CMD, 0xa0); // rotate on non-specific EOI: IRQ 1 becomes the lowest
  pulse(p, 0);
  pulse(p, 3);
  assert.equal(p.acknowledge(), 0x33);
  master.wr(CMD, EOI);
  assert.equal(p.acknowledge(), 0x30);
  master.wr(CMD, EOI);

  master.wr(CMD, 0xc0 | 4); // set priority: IRQ 4 lowest, 5 highest
  pulse(p, 3);
  pulse(p, 6);
  assert.equal(p.acknowledge(), 0x36);
  master.wr(CMD, 0xe0 | 6); // rotate on specific EOI: 6 lowest, 7 highest
  pulse(p, 7);
  assert.equal(p.acknowledge(), 0x37);
  master.wr(CMD, SPECIFIC_EOI | 7);
  assert.equal(p.acknowledge(), 0x33);
});

test("special mask mode: a masked level in service lets lower levels in", () => {
  const pc = pic();
  const { p, master } = pc;
  linuxInit(pc, 0x00, 0x00);
  pulse(p, 1);
  assert.equal(p.acknowledge(), 0x31);
  pulse(p, 5);
  assert.equal(p.hasInterrupt(), false);
  master.wr(DATA, 0x02);
  master.wr(CMD, 0x68); // OCW3: set special mask mode
  assert.equal(p.acknowledge(), 0x35);
  master.wr(CMD, EOI); // non-specific: the masked IRQ 1 is not cleared
  master.wr(CMD, READ_ISR);
  assert.equal(master.rd(CMD), 0x02);
  master.wr(CMD, 0x48); // reset special mask mode
  master.wr(CMD, SPECIFIC_EOI | 1);
  assert.equal(master.rd(CMD), 0);
});

test("ICW1 resets the edge sense: a line already high must rise again", () => {
  const pc = pic();
  const { p, master } = pc;
  p.setIrq(4, true);
  linuxInit(pc, 0x00, 0x00);
  master.wr(CMD, READ_IRR);
  assert.equal(master.rd(CMD), 0);
  p.setIrq(4, true);
  assert.equal(p.hasInterrupt(), false);
  p.setIrq(4, false);
  p.setIrq(4, true);
  assert.equal(p.acknowledge(), 0x34);
});

test("special fully nested mode: the slave's higher request nests inside its lower one", () => {
  const pc = pic();
  const { p, master, slave } = pc;
  linuxInit(pc, 0x00, 0x00);
  master.wr(CMD, 0x11);
  master.wr(DATA, LINUX_VECTOR_BASE);
  master.wr(DATA, 0x04);
  master.wr(DATA, 0x11); // ICW4: SFNM
  pulse(p, 12);
  assert.equal(p.acknowledge(), 0x3c);
  pulse(p, 9);
  assert.equal(p.acknowledge(), 0x39, "IR2 in service does not hold off the slave");
  slave.wr(CMD, READ_ISR);
  assert.equal(slave.rd(CMD), 0x12);
});

test("ISA IRQ 2 is the cascade and out-of-range lines are ignored", () => {
  const pc = pic();
  const { p } = pc;
  linuxInit(pc, 0x00, 0x00);
  p.setIrq(2, true);
  p.setIrq(16, true);
  p.setIrq(-1, true);
  assert.equal(p.hasInterrupt(), false);
});
