// The local APIC model through its registers (the xAPIC page and the x2APIC MSRs), with a clock advanced by
// hand: priorities, EOI, the ICR, INIT/SIPI, the LINT pins, the APIC base and the x2APIC rules.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ApicMessage, DeliveryMode, deliverMessage, TriggerMode } from "../src/devices/irqchip/apic_message.js";
import { ApicAccessFault } from "../src/devices/irqchip/apic_registers.js";
import { LocalApic } from "../src/devices/irqchip/local_apic.js";
import { HandClock, lapic, SVR, TSC_HZ } from "./helpers/lapic.js";

const ID = 0x020;
const VERSION = 0x030;
const TPR = 0x080;
const APR = 0x090;
const PPR = 0x0a0;
const EOI = 0x0b0;
const LDR = 0x0d0;
const DFR = 0x0e0;
const ISR = 0x100;
const TMR = 0x180;
const IRR = 0x200;
const ESR = 0x280;
const ICR_LOW = 0x300;
const ICR_HIGH = 0x310;
const LVT_TIMER = 0x320;
const LVT_LINT0 = 0x350;
const LVT_LINT1 = 0x360;
const LVT_ERROR = 0x370;
const TIMER_INITIAL = 0x380;

const MASKED = 1 << 16;
const DIVIDE_BY_1 = 0b1011;
const ICR_SELF = 1 << 18;
const ICR_ALL = 2 << 18;
const ICR_ALL_BUT_SELF = 3 << 18;
const ICR_LEVEL_ASSERT = 1 << 14;
const ICR_TRIGGER_LEVEL = 1 << 15;
const APIC_BASE_ENABLE = 1n << 11n;
const APIC_BASE_EXTD = 1n << 10n;
const DEFAULT_BASE = 0xfee00000n;

function fixed(vector: number, trigger = TriggerMode.EDGE): ApicMessage {
  return { vector, deliveryMode: DeliveryMode.FIXED, destMode: 0, dest: 0, level: true, trigger };
}

test("reset state: ID, version (6 LVT entries), SVR, DFR, masked LVTs but the boot CPU's ExtINT LINT0", () => {
  const bsp = new LocalApic({ id: 0, clock: new HandClock(), tscHz: TSC_HZ });
  const ap = lapic({ id: 3 });
  const read = (a: LocalApic, reg: number) => {
    const d = new Uint8Array(4);
    a.read(reg, d);
    return new Uint32Array(d.buffer)[0] as number;
  };
  assert.equal(read(bsp, VERSION), 0x50014);
  assert.equal(read(bsp, SVR), 0xff);
  assert.equal(read(bsp, DFR), 0xffffffff);
  assert.equal(read(bsp, LVT_LINT0), 0x700, "ExtINT, unmasked");
  assert.equal(read(bsp, LVT_LINT1), MASKED);
  assert.equal(read(bsp, LVT_TIMER), MASKED);
  assert.equal(bsp.apicBase, DEFAULT_BASE | APIC_BASE_ENABLE | 0x100n, "enabled, BSP");
  assert.equal(ap.rd(ID), 3 << 24);
  assert.equal(ap.rd(LVT_LINT0), MASKED);
  ap.wr(LDR, 0x01ffffff);
  assert.equal(ap.rd(LDR), 0x01000000, "LDR bits 24-31");
  ap.wr(DFR, 0);
  assert.equal(ap.rd(DFR), 0x0fffffff, "DFR model bits only");
  assert.equal(ap.apic.apicBase, DEFAULT_BASE | APIC_BASE_ENABLE);
  // Byte reads see the register's bytes.
  const b = new Uint8Array(1);
  ap.apic.read(ID + 3, b);
  assert.equal(b[0], 3);
});

test("self-IPI through the ICR: IRR, acknowledge moves it to ISR, PPR follows, EOI retires it", () => {
  const { apic, rd, wr, bit, eois } = lapic();
  assert.equal(apic.hasPendingInterrupt(), false);
  wr(ICR_LOW, 0x41 | ICR_SELF);
  assert.equal(bit(IRR, 0x41), 1);
  assert.equal(apic.highestPendingVector(), 0x41);
  assert.equal(apic.acknowledge(), 0x41);
  assert.equal(bit(IRR, 0x41), 0);
  assert.equal(bit(ISR, 0x41), 1);
  assert.equal(rd(PPR), 0x40);
  assert.equal(apic.hasPendingInterrupt(), false);
  wr(EOI, 0);
  assert.equal(bit(ISR, 0x41), 0);
  assert.equal(rd(PPR), 0);
  assert.deepEqual(eois, [], "edge: no EOI broadcast");
  assert.equal(apic.acknowledge(), 0xff, "nothing pending: the spurious vector");
});

test("TPR masks a vector until lowered below its class; CR8 is TPR bits 7-4", () => {
  const { apic, rd, wr } = lapic();
  wr(TPR, 0x50);
  apic.accept(fixed(0x45));
  apic.accept(fixed(0x5f));
  assert.equal(apic.hasPendingInterrupt(), false, "classes 4 and 5 are not above TPR class 5");
  assert.equal(rd(PPR), 0x50);
  assert.equal(rd(APR), 0x50);
  apic.cr8 = 4;
  assert.equal(rd(TPR), 0x40);
  assert.equal(apic.highestPendingVector(), 0x5f);
  assert.equal(apic.acknowledge(), 0x5f);
  assert.equal(apic.hasPendingInterrupt(), false, "0x45 waits behind in-service 0x5f");
  wr(EOI, 0);
  assert.equal(apic.hasPendingInterrupt(), false, "0x45 is class 4, TPR class 4");
  apic.tpr = 0x3f;
  assert.equal(apic.cr8, 3);
  assert.equal(apic.acknowledge(), 0x45);
});

test("ISR nesting: a higher class preempts, a lower one waits; EOI retires the highest in service first", () => {
  const { apic, rd, wr, bit } = lapic();
  apic.accept(fixed(0x30));
  assert.equal(apic.acknowledge(), 0x30);
  apic.accept(fixed(0x50));
  assert.equal(apic.acknowledge(), 0x50, "class 5 above PPR class 3");
  apic.accept(fixed(0x35));
  assert.equal(apic.highestPendingVector(), -1);
  assert.equal(rd(PPR), 0x50);
  wr(EOI, 0);
  assert.equal(bit(ISR, 0x50), 0);
  assert.equal(bit(ISR, 0x30), 1);
  assert.equal(apic.highestPendingVector(), -1, "0x35 is class 3, as in-service 0x30");
  wr(EOI, 0);
  assert.equal(apic.acknowledge(), 0x35);
});

test("level-triggered vectors set TMR, and their EOI is broadcast to the IOAPICs", () => {
  const { apic, wr, bit, eois } = lapic();
  apic.accept(fixed(0x61, TriggerMode.LEVEL));
  assert.equal(bit(TMR, 0x61), 1);
  apic.acknowledge();
  wr(EOI, 0);
  assert.deepEqual(eois, [0x61]);
});

test("IPIs between APICs: physical destination, all, all-but-self; INIT, its de-assert, SIPI and NMI", () => {
  const clock = new HandClock();
  const apics: LocalApic[] = [];
  const sendIpi = (msg: ApicMessage) => void deliverMessage(msg, apics);
  const a = lapic({ id: 0, sendIpi }, clock);
  const b = lapic({ id: 1, sendIpi }, clock);
  apics.push(a.apic, b.apic);
  a.wr(ICR_HIGH, 1 << 24);
  a.wr(ICR_LOW, 0x51 | ICR_LEVEL_ASSERT);
  assert.equal(b.bit(IRR, 0x51), 1);
  assert.equal(a.bit(IRR, 0x51), 0);
  assert.equal(a.rd(ICR_HIGH), 1 << 24);
  assert.equal(a.rd(ICR_LOW), 0x51 | ICR_LEVEL_ASSERT, "delivery status idle");
  a.wr(ICR_LOW, 0x52 | ICR_ALL_BUT_SELF);
  assert.deepEqual([a.bit(IRR, 0x52), b.bit(IRR, 0x52)], [0, 1]);
  a.wr(ICR_LOW, 0x53 | ICR_ALL);
  assert.deepEqual([a.bit(IRR, 0x53), b.bit(IRR, 0x53)], [1, 1]);

  // INIT-SIPI-SIPI as Linux sends it (the de-assert is ignored by modern APICs).
  a.wr(ICR_LOW, (DeliveryMode.INIT << 8) | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL);
  assert.equal(b.apic.pendingInit, true);
  b.apic.pendingInit = false;
  a.wr(ICR_LOW, (DeliveryMode.INIT << 8) | ICR_TRIGGER_LEVEL);
  assert.equal(b.apic.pendingInit, false);
  a.wr(ICR_LOW, (DeliveryMode.STARTUP << 8) | 0x9f);
  assert.equal(b.apic.pendingSipiVector, 0x9f);
  b.apic.reset(true);
  assert.equal(b.rd(ID), 1 << 24, "INIT keeps the APIC ID");
  assert.equal(b.bit(IRR, 0x51), 0, "and clears the rest");
  a.wr(ICR_LOW, (DeliveryMode.NMI << 8) | ICR_ALL_BUT_SELF);
  assert.equal(b.apic.pendingNmi, true);
  assert.equal(a.apic.pendingNmi, false);
});

test("ESR: errors show after the next ESR write; an unmasked error LVT raises its vector", () => {
  const { apic, rd, wr, bit } = lapic();
  wr(LVT_ERROR, 0xfe);
  wr(ICR_LOW, 0x05 | ICR_SELF); // vectors 0-15 are illegal
  assert.equal(rd(ESR), 0);
  assert.equal(bit(IRR, 0x05), 0);
  assert.equal(bit(IRR, 0xfe), 1, "error interrupt");
  wr(ESR, 0);
  assert.equal(rd(ESR), 0x20, "send illegal vector");
  apic.accept(fixed(0x07));
  wr(ESR, 0);
  assert.equal(rd(ESR), 0x40, "receive illegal vector");
  wr(ESR, 0);
  assert.equal(rd(ESR), 0);
});

test("software disable masks every LVT, keeps them masked, and drops fixed messages but not NMI or INIT", () => {
  const { apic, clock, rd, wr } = lapic();
  wr(LVT_TIMER, 0x30);
  wr(SVR, 0xff);
  assert.equal(rd(LVT_TIMER), 0x30 | MASKED);
  wr(LVT_TIMER, 0x30);
  assert.equal(rd(LVT_TIMER), 0x30 | MASKED);
  wr(TIMER_INITIAL, 10);
  clock.ns = 100;
  apic.poll();
  assert.equal(apic.accept(fixed(0x40)), false);
  assert.equal(apic.hasPendingInterrupt(), false);
  assert.equal(apic.accept({ ...fixed(0), deliveryMode: DeliveryMode.NMI }), true);
  assert.equal(apic.accept({ ...fixed(0), deliveryMode: DeliveryMode.INIT }), true);
  assert.equal(apic.pendingNmi && apic.pendingInit, true);
});

test("LINT0 in ExtINT mode asks the 8259 for the vector; LINT1 programmed for NMI raises one per edge", () => {
  let woken = 0;
  const { apic, wr } = lapic({ extIntVector: () => 0x08, wake: () => woken++ });
  woken = 0;
  apic.setLint(0, true);
  assert.equal(apic.hasPendingInterrupt(), true);
  assert.equal(woken, 1);
  assert.equal(apic.acknowledge(), 0x08);
  apic.setLint(0, false);
  assert.equal(apic.hasPendingInterrupt(), false);
  wr(LVT_LINT0, 0x700 | MASKED);
  apic.setLint(0, true);
  assert.equal(apic.hasPendingInterrupt(), false, "masked");

  wr(LVT_LINT1, DeliveryMode.NMI << 8);
  apic.setLint(1, true);
  assert.equal(apic.pendingNmi, true);
  apic.pendingNmi = false;
  apic.setLint(1, true);
  assert.equal(apic.pendingNmi, false, "edge-triggered");

  // A level-triggered fixed LINT1 requests its vector once per EOI while asserted.
  apic.setLint(1, false);
  wr(LVT_LINT1, 0x66 | (1 << 15));
  apic.setLint(1, true);
  assert.equal(apic.acknowledge(), 0x66);
  assert.equal(apic.hasPendingInterrupt(), false);
  wr(EOI, 0);
  assert.equal(apic.acknowledge(), 0x66, "still asserted after EOI");
});

test("IA32_APIC_BASE: relocation, global disable resets, x2APIC entry rules", () => {
  const { apic, rd, wr } = lapic({ id: 0x25 });
  apic.setApicBase(0xfed00000n | APIC_BASE_ENABLE);
  assert.equal(apic.baseAddress, 0xfed00000);
  assert.equal(apic.apicBase, 0xfed00000n | APIC_BASE_ENABLE, "the BSP bit stays clear on an AP");
  assert.throws(() => apic.setApicBase(DEFAULT_BASE | APIC_BASE_ENABLE | 1n), ApicAccessFault);
  wr(TPR, 0x20);
  apic.setApicBase(DEFAULT_BASE);
  assert.equal(apic.mode, "disabled");
  assert.equal(rd(ID), 0xffffffff, "the page is not decoded");
  assert.throws(() => apic.setApicBase(DEFAULT_BASE | APIC_BASE_ENABLE | APIC_BASE_EXTD), ApicAccessFault);
  apic.setApicBase(DEFAULT_BASE | APIC_BASE_ENABLE);
  assert.equal(rd(TPR), 0, "reset by the disable");
  assert.equal(rd(SVR), 0xff);
  apic.setApicBase(DEFAULT_BASE | APIC_BASE_ENABLE | APIC_BASE_EXTD);
  assert.equal(apic.mode, "x2apic");
  assert.throws(() => apic.setApicBase(DEFAULT_BASE | APIC_BASE_ENABLE), ApicAccessFault, "x2APIC -> xAPIC");
  const noX2 = lapic({ x2apic: false });
  assert.throws(() => noX2.apic.setApicBase(DEFAULT_BASE | APIC_BASE_ENABLE | APIC_BASE_EXTD), ApicAccessFault);
});

test("x2APIC MSRs: 32-bit ID and cluster LDR read-only, 64-bit ICR, self-IPI, #GP on what table 11-6 forbids", () => {
  const { apic, rd } = lapic({ id: 0x25 });
  assert.throws(() => apic.readMsr(0x802), ApicAccessFault, "not in x2APIC mode");
  apic.setApicBase(DEFAULT_BASE | APIC_BASE_ENABLE | APIC_BASE_EXTD);
  assert.equal(rd(SVR), 0xffffffff, "no MMIO in x2APIC mode");
  assert.equal(apic.readMsr(0x802), 0x25n);
  assert.equal(apic.readMsr(0x803), 0x50014n);
  assert.equal(apic.readMsr(0x80d), (2n << 16n) | (1n << 5n), "cluster 2, member bit 5");
  assert.throws(() => apic.writeMsr(0x802, 0n), ApicAccessFault, "ID is read-only");
  assert.throws(() => apic.writeMsr(0x80d, 0n), ApicAccessFault, "LDR is read-only");
  assert.throws(() => apic.readMsr(0x80e), ApicAccessFault, "no DFR");
  assert.throws(() => apic.readMsr(0x809), ApicAccessFault, "no APR");
  assert.throws(() => apic.readMsr(0x80b), ApicAccessFault, "EOI is write-only");
  assert.throws(() => apic.readMsr(0x83f), ApicAccessFault, "self-IPI is write-only");
  assert.throws(() => apic.readMsr(0x831), ApicAccessFault, "no ICR high half");
  assert.throws(() => apic.writeMsr(0x839, 0n), ApicAccessFault, "current count is read-only");
  assert.throws(() => apic.writeMsr(0x900, 0n), ApicAccessFault, "outside the range");

  apic.writeMsr(0x80f, 0x1ffn);
  apic.writeMsr(0x808, 0x10n);
  assert.equal(apic.cr8, 1);
  assert.throws(() => apic.writeMsr(0x808, 1n << 32n), ApicAccessFault, "upper half must be 0");
  assert.throws(() => apic.writeMsr(0x80b, 1n), ApicAccessFault, "EOI takes 0 only");
  assert.throws(() => apic.writeMsr(0x828, 1n), ApicAccessFault, "ESR takes 0 only");
  assert.throws(() => apic.writeMsr(0x83f, 0x100n), ApicAccessFault, "self-IPI: a vector only");

  apic.writeMsr(0x83f, 0x71n);
  assert.equal(apic.readMsr(0x823), 1n << 17n, "IRR: vector 0x71 is bit 17 of the fourth word");
  assert.equal(apic.acknowledge(), 0x71);
  apic.writeMsr(0x80b, 0n);
  assert.equal(apic.readMsr(0x813), 0n, "ISR clear after EOI");

  // The ICR is one MSR: destination in the high half, and a self-addressed IPI reaches this APIC.
  const icr = (0x25n << 32n) | 0x72n;
  apic.writeMsr(0x830, icr);
  assert.equal(apic.readMsr(0x830), icr);
  assert.equal(apic.highestPendingVector(), 0x72);
  assert.throws(() => apic.writeMsr(0x830, 0x72n | (1n << 13n)), ApicAccessFault, "reserved ICR bit");
  // The timer through MSRs.
  apic.writeMsr(0x83e, BigInt(DIVIDE_BY_1));
  apic.writeMsr(0x832, 0x30n);
  apic.writeMsr(0x838, 500n);
  assert.equal(apic.readMsr(0x839), 500n);
});

test("a globally disabled APIC passes LINT0 through as INTR and LINT1 as the NMI pin", () => {
  const { apic } = lapic({ extIntVector: () => 0x70 });
  apic.setApicBase(DEFAULT_BASE);
  apic.setLint(0, true);
  assert.equal(apic.hasPendingInterrupt(), true);
  assert.equal(apic.acknowledge(), 0x70);
  apic.setLint(0, false);
  assert.equal(apic.hasPendingInterrupt(), false);
  apic.setLint(1, true);
  assert.equal(apic.pendingNmi, true);
  assert.equal(apic.accept(fixed(0x40)), false, "no messages at all");
});

test("an ExtINT message (an IOAPIC entry in ExtINT mode) is taken once, with the 8259's vector", () => {
  const { apic } = lapic({ extIntVector: () => 0x20 });
  assert.equal(apic.accept({ ...fixed(0), deliveryMode: DeliveryMode.EXTINT }), true);
  assert.equal(apic.extIntPending, true);
  assert.equal(apic.acknowledge(), 0x20);
  assert.equal(apic.extIntPending, false);
});

test("INIT reset keeps x2APIC mode with its ID and LDR, and clears the rest", () => {
  const { apic } = lapic({ id: 0x13 });
  apic.setApicBase(DEFAULT_BASE | APIC_BASE_ENABLE | APIC_BASE_EXTD);
  apic.writeMsr(0x80f, 0x1ffn);
  apic.writeMsr(0x808, 0x30n);
  apic.reset(true);
  assert.equal(apic.mode, "x2apic");
  assert.equal(apic.readMsr(0x802), 0x13n);
  assert.equal(apic.readMsr(0x80d), (1n << 16n) | (1n << 3n));
  assert.equal(apic.readMsr(0x808), 0n);
  assert.equal(apic.readMsr(0x80f), 0xffn);
  apic.reset();
  assert.equal(apic.mode, "xapic", "power-on reset: xAPIC mode");
  assert.equal(apic.apicId, 0x13);
});
