// The local APIC timer through its registers with a clock advanced by hand: one-shot, periodic and
// TSC-deadline modes, the divide configuration, the current count, and masking.
import assert from "node:assert/strict";
import { test } from "node:test";
import { lapic } from "./helpers/lapic.js";

const IRR = 0x200;
const EOI = 0x0b0;
const LVT_TIMER = 0x320;
const TIMER_INITIAL = 0x380;
const TIMER_CURRENT = 0x390;
const TIMER_DIVIDE = 0x3e0;
const MASKED = 1 << 16;
const PERIODIC = 1 << 17;
const TSC_DEADLINE = 2 << 17;
const DIVIDE_BY_1 = 0b1011;
const DIVIDE_BY_2 = 0b0000;
const DIVIDE_BY_16 = 0b0011;

test("timer, one-shot: current count from the clock at 1 GHz over the divisor, one interrupt at the deadline", () => {
  const { apic, clock, rd, wr, bit } = lapic();
  wr(TIMER_DIVIDE, DIVIDE_BY_2);
  wr(LVT_TIMER, 0x20);
  clock.ns = 1000;
  wr(TIMER_INITIAL, 1000);
  assert.equal(rd(TIMER_INITIAL), 1000);
  assert.equal(rd(TIMER_CURRENT), 1000);
  assert.equal(apic.nextDeadlineNs(), 3000, "1000 ticks of 2 ns");
  clock.ns = 1300;
  assert.equal(rd(TIMER_CURRENT), 850);
  apic.poll();
  assert.equal(bit(IRR, 0x20), 0);
  clock.ns = 3000;
  assert.equal(rd(TIMER_CURRENT), 0);
  apic.poll();
  assert.equal(bit(IRR, 0x20), 1);
  assert.equal(apic.acknowledge(), 0x20);
  wr(EOI, 0);
  clock.ns = 10_000;
  apic.poll();
  assert.equal(apic.hasPendingInterrupt(), false, "one shot");
  assert.equal(apic.nextDeadlineNs(), Number.POSITIVE_INFINITY);
  wr(TIMER_INITIAL, 10);
  wr(TIMER_INITIAL, 0);
  assert.equal(apic.nextDeadlineNs(), Number.POSITIVE_INFINITY, "a zero initial count stops the timer");
});

test("timer, periodic: reloads, late polls coalesce, the count reads the phase", () => {
  const { apic, clock, rd, wr } = lapic();
  wr(TIMER_DIVIDE, DIVIDE_BY_1);
  wr(LVT_TIMER, 0x22 | PERIODIC);
  wr(TIMER_INITIAL, 100);
  clock.ns = 250;
  assert.equal(rd(TIMER_CURRENT), 50);
  apic.poll();
  assert.equal(apic.acknowledge(), 0x22);
  wr(EOI, 0);
  assert.equal(apic.hasPendingInterrupt(), false, "two periods passed: one interrupt");
  assert.equal(apic.nextDeadlineNs(), 300);
  clock.ns = 300;
  assert.equal(rd(TIMER_CURRENT), 100, "reloaded");
  apic.poll();
  assert.equal(apic.acknowledge(), 0x22);
});

test("timer: the divide configuration sets the rate, and a change continues the count at the new rate", () => {
  const { apic, clock, rd, wr } = lapic();
  wr(TIMER_DIVIDE, DIVIDE_BY_16);
  assert.equal(rd(TIMER_DIVIDE), DIVIDE_BY_16);
  wr(LVT_TIMER, 0x23);
  wr(TIMER_INITIAL, 100);
  assert.equal(apic.nextDeadlineNs(), 1600);
  clock.ns = 160;
  assert.equal(rd(TIMER_CURRENT), 90);
  wr(TIMER_DIVIDE, DIVIDE_BY_1);
  assert.equal(rd(TIMER_CURRENT), 90);
  assert.equal(apic.nextDeadlineNs(), 250);
  wr(TIMER_DIVIDE, 0b0100); // bit 2 is reserved: divide by 2
  assert.equal(rd(TIMER_DIVIDE), 0);
});

test("timer, TSC-deadline: fires when the TSC reaches IA32_TSC_DEADLINE, then reads 0; the count registers idle", () => {
  const { apic, clock, rd, wr } = lapic();
  apic.setTscDeadline(5000n);
  assert.equal(apic.tscDeadline, 0n, "ignored outside TSC-deadline mode");
  wr(LVT_TIMER, 0x24 | TSC_DEADLINE);
  wr(TIMER_INITIAL, 1000);
  assert.equal(rd(TIMER_INITIAL), 0, "initial count writes are ignored");
  apic.setTscDeadline(5000n);
  assert.equal(apic.tscDeadline, 5000n);
  assert.equal(apic.nextDeadlineNs(), 2500, "2 TSC ticks per ns");
  clock.ns = 2499;
  apic.poll();
  assert.equal(apic.tscDeadline, 5000n);
  assert.equal(apic.hasPendingInterrupt(), false);
  assert.equal(rd(TIMER_CURRENT), 0);
  clock.ns = 2500;
  assert.equal(apic.tscDeadline, 0n, "reads 0 once the TSC passed it");
  assert.equal(apic.acknowledge(), 0x24);
  // A deadline already past fires at the next poll; 0 disarms; leaving the mode disarms.
  apic.setTscDeadline(1n);
  apic.poll();
  assert.equal(apic.highestPendingVector(), -1, "0x24 is still in service");
  wr(EOI, 0);
  assert.equal(apic.highestPendingVector(), 0x24);
  apic.setTscDeadline(1_000_000n);
  wr(LVT_TIMER, 0x24);
  assert.equal(apic.tscDeadline, 0n);
  assert.equal(apic.nextDeadlineNs(), Number.POSITIVE_INFINITY);
  // The TSC offset moves an armed deadline.
  wr(LVT_TIMER, 0x24 | TSC_DEADLINE);
  apic.timer.tscOffset = 1000n;
  apic.setTscDeadline(7000n);
  assert.equal(apic.nextDeadlineNs(), 3000);
});

test("a masked timer keeps counting but its expiry is lost; nextDeadlineNs ignores it", () => {
  const { apic, clock, rd, wr } = lapic();
  wr(TIMER_DIVIDE, DIVIDE_BY_1);
  wr(LVT_TIMER, 0x25 | MASKED);
  wr(TIMER_INITIAL, 100);
  assert.equal(apic.nextDeadlineNs(), Number.POSITIVE_INFINITY);
  clock.ns = 40;
  assert.equal(rd(TIMER_CURRENT), 60);
  clock.ns = 200;
  wr(LVT_TIMER, 0x25);
  apic.poll();
  assert.equal(apic.hasPendingInterrupt(), false);
});
