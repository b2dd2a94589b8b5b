// Message routing between the IOAPIC and the local APICs: physical and broadcast destinations, logical flat
// and cluster (xAPIC) and x2APIC cluster destinations, lowest priority, and a level-triggered IOAPIC line held
// until the local APIC's EOI broadcast.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type ApicMessage,
  DeliveryMode,
  DestMode,
  deliverMessage,
  TriggerMode,
} from "../src/devices/irqchip/apic_message.js";
import type { Clock } from "../src/devices/irqchip/clock.js";
import { Ioapic } from "../src/devices/irqchip/ioapic.js";
import { LocalApic } from "../src/devices/irqchip/local_apic.js";

const TPR = 0x080;
const EOI = 0x0b0;
const LDR = 0x0d0;
const DFR = 0x0e0;
const SVR = 0x0f0;
const SVR_ENABLE = 0x100;
const DFR_FLAT = 0xffffffff;
const DFR_CLUSTER = 0x0fffffff;
const X2APIC_ON = 0xfee00000n | (1n << 11n) | (1n << 10n);

const clock: Clock = { nowNs: () => 0 };

/** `count` local APICs, software enabled, wired to each other. */
function machine(count: number) {
  const lapics: LocalApic[] = [];
  const ioapicEois: number[] = [];
  for (let id = 0; id < count; id++) {
    lapics.push(
      new LocalApic({
        id,
        clock,
        tscHz: 1_000_000_000,
        sendIpi: (msg) => void deliverMessage(msg, lapics),
        eoiBroadcast: (v) => ioapicEois.push(v),
      }),
    );
  }
  const wr = (apic: LocalApic, reg: number, v: number) => apic.write(reg, new Uint8Array(new Uint32Array([v]).buffer));
  for (const apic of lapics) wr(apic, SVR, SVR_ENABLE | 0xff);
  /** Which APICs hold `vector` in IRR. */
  const holders = (vector: number) => lapics.flatMap((a, i) => (a.priority.irr.has(vector) ? [i] : []));
  return { lapics, wr, holders, ioapicEois };
}

function msg(vector: number, destMode: DestMode, dest: number, deliveryMode = DeliveryMode.FIXED): ApicMessage {
  return { vector, deliveryMode, destMode, dest, level: true, trigger: TriggerMode.EDGE };
}

test("physical: one APIC by ID, 0xff to every xAPIC; an ID nobody has reaches nobody", () => {
  const { lapics, holders } = machine(3);
  assert.equal(deliverMessage(msg(0x40, DestMode.PHYSICAL, 2), lapics), true);
  assert.deepEqual(holders(0x40), [2]);
  deliverMessage(msg(0x41, DestMode.PHYSICAL, 0xff), lapics);
  assert.deepEqual(holders(0x41), [0, 1, 2]);
  assert.equal(deliverMessage(msg(0x42, DestMode.PHYSICAL, 7), lapics), false);
});

test("logical flat: a bit of the destination per APIC in LDR bits 24-31", () => {
  const { lapics, wr, holders } = machine(4);
  lapics.forEach((a, i) => {
    wr(a, DFR, DFR_FLAT);
    wr(a, LDR, (1 << i) << 24);
  });
  deliverMessage(msg(0x50, DestMode.LOGICAL, 0b1010), lapics);
  assert.deepEqual(holders(0x50), [1, 3]);
  deliverMessage(msg(0x51, DestMode.LOGICAL, 0xff), lapics);
  assert.deepEqual(holders(0x51), [0, 1, 2, 3]);
});

test("an ICR with a logical destination reaches the APICs whose LDR matches", () => {
  const { lapics, wr, holders } = machine(3);
  lapics.forEach((a, i) => {
    wr(a, DFR, DFR_FLAT);
    wr(a, LDR, (1 << i) << 24);
  });
  const ICR_LOW = 0x300;
  const ICR_HIGH = 0x310;
  const ICR_LOGICAL = 1 << 11;
  const sender = lapics[0] as LocalApic;
  wr(sender, ICR_HIGH, 0b110 << 24);
  wr(sender, ICR_LOW, 0x58 | ICR_LOGICAL);
  assert.deepEqual(holders(0x58), [1, 2]);
});

test("logical cluster: cluster in the high nibble, members in the low; 0xff is everyone", () => {
  const { lapics, wr, holders } = machine(4);
  const ldrs = [0x11, 0x12, 0x21, 0x22]; // clusters 1 and 2, members 0 and 1
  lapics.forEach((a, i) => {
    wr(a, DFR, DFR_CLUSTER);
    wr(a, LDR, (ldrs[i] as number) << 24);
  });
  deliverMessage(msg(0x60, DestMode.LOGICAL, 0x23), lapics);
  assert.deepEqual(holders(0x60), [2, 3]);
  deliverMessage(msg(0x61, DestMode.LOGICAL, 0x12), lapics);
  assert.deepEqual(holders(0x61), [1]);
  deliverMessage(msg(0x62, DestMode.LOGICAL, 0xff), lapics);
  assert.deepEqual(holders(0x62), [0, 1, 2, 3]);
});

test("x2APIC: 32-bit physical IDs with broadcast 0xffffffff, and cluster logical IDs derived from the APIC ID", () => {
  const { lapics, holders } = machine(18);
  for (const a of lapics) a.setApicBase(X2APIC_ON);
  deliverMessage(msg(0x70, DestMode.PHYSICAL, 17), lapics);
  assert.deepEqual(holders(0x70), [17]);
  deliverMessage(msg(0x71, DestMode.PHYSICAL, 0xff), lapics);
  assert.deepEqual(holders(0x71), [], "0xff is an ID in x2APIC mode, not a broadcast");
  deliverMessage(msg(0x72, DestMode.PHYSICAL, 0xffffffff), lapics);
  assert.equal(holders(0x72).length, 18);
  // Cluster 0 holds IDs 0-15, cluster 1 IDs 16-31: 0x1_0003 is IDs 16 and 17.
  deliverMessage(msg(0x73, DestMode.LOGICAL, 0x0001_0003), lapics);
  assert.deepEqual(holders(0x73), [16, 17]);
  deliverMessage(msg(0x74, DestMode.LOGICAL, 0x0000_8001), lapics);
  assert.deepEqual(holders(0x74), [0, 15]);
});

test("lowest priority: the software-enabled destination with the lowest arbitration priority, ties to the lowest index", () => {
  const { lapics, wr, holders } = machine(3);
  wr(lapics[0] as LocalApic, TPR, 0x40);
  wr(lapics[1] as LocalApic, TPR, 0x20);
  wr(lapics[2] as LocalApic, TPR, 0x20);
  deliverMessage(msg(0x80, DestMode.PHYSICAL, 0xff, DeliveryMode.LOWEST), lapics);
  assert.deepEqual(holders(0x80), [1]);
  wr(lapics[1] as LocalApic, SVR, 0xff); // software disabled: out of the arbitration
  deliverMessage(msg(0x81, DestMode.PHYSICAL, 0xff, DeliveryMode.LOWEST), lapics);
  assert.deepEqual(holders(0x81), [2]);
});

test("a globally disabled APIC takes nothing; NMI and INIT reach a software-disabled one", () => {
  const { lapics, wr } = machine(2);
  const [a, b] = lapics as [LocalApic, LocalApic];
  a.setApicBase(0xfee00000n);
  wr(b, SVR, 0xff);
  assert.equal(deliverMessage(msg(0, DestMode.PHYSICAL, 0xff, DeliveryMode.NMI), lapics), true);
  assert.deepEqual([a.pendingNmi, b.pendingNmi], [false, true]);
  deliverMessage(msg(0, DestMode.PHYSICAL, 1, DeliveryMode.INIT), lapics);
  assert.equal(b.pendingInit, true);
});

test("IOAPIC to local APIC: a level-triggered line is held until EOI, then redelivered while still asserted", () => {
  const { lapics, wr, ioapicEois } = machine(2);
  const ioapic = new Ioapic({ id: 2, send: (m) => deliverMessage(m, lapics) });
  const cpu1 = lapics[1] as LocalApic;
  const sel = (i: number, v: number) => {
    ioapic.write(0x00, Uint8Array.of(i));
    ioapic.write(0x10, new Uint8Array(new Uint32Array([v]).buffer));
  };
  sel(0x10 + 2 * 9 + 1, 1 << 24); // pin 9 to APIC 1
  sel(0x10 + 2 * 9, 0x39 | (1 << 15)); // vector 0x39, level, unmasked
  ioapic.setIrq(9, true);
  assert.equal(cpu1.acknowledge(), 0x39);
  assert.equal(cpu1.priority.tmr.has(0x39), true);
  ioapic.setIrq(9, true);
  assert.equal(cpu1.hasPendingInterrupt(), false, "Remote IRR holds the line");
  // The broadcast reaches the IOAPIC through the owner's wiring; here by hand.
  wr(cpu1, EOI, 0);
  assert.deepEqual(ioapicEois, [0x39]);
  ioapic.eoi(0x39);
  assert.equal(cpu1.acknowledge(), 0x39, "still asserted: delivered again");
  ioapic.setIrq(9, false);
  wr(cpu1, EOI, 0);
  ioapic.eoi(0x39);
  assert.equal(cpu1.hasPendingInterrupt(), false);
});
