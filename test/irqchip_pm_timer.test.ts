// The ACPI PM timer through its port, with a clock advanced by hand.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Clock } from "../src/devices/irqchip/clock.js";
import { AcpiPmTimer, PM_TIMER_HZ } from "../src/devices/irqchip/pm_timer.js";

const NS_PER_S = 1e9;
const WRAP = 0x1000000;

class FakeClock implements Clock {
  constructor(public ns: number) {}
  nowNs(): number {
    return this.ns;
  }
}

function read32(timer: AcpiPmTimer): number {
  const d = new Uint8Array(4);
  timer.read(0, d);
  return new DataView(d.buffer).getUint32(0, true);
}

test("the PM timer counts 3.579545 MHz from 0, in 24 bits of a 32-bit port", () => {
  const clock = new FakeClock(7 * NS_PER_S); // the machine clock need not start at 0
  const timer = new AcpiPmTimer(clock);
  assert.equal(read32(timer), 0);
  clock.ns += 1000; // 1 us: 3.58 ticks
  assert.equal(read32(timer), 3);
  clock.ns += NS_PER_S - 1000;
  assert.equal(read32(timer), PM_TIMER_HZ);
  timer.write(0, Uint8Array.of(0, 0, 0, 0)); // read-only
  assert.equal(read32(timer), PM_TIMER_HZ);
});

test("the PM timer wraps at 2^24 (every 4.69 s) and its top byte reads 0", () => {
  const clock = new FakeClock(0);
  const timer = new AcpiPmTimer(clock);
  const wrapNs = (WRAP / PM_TIMER_HZ) * NS_PER_S;
  clock.ns = Math.floor(wrapNs) - 1000;
  const before = read32(timer);
  assert.ok(before > WRAP - 4000 && before < WRAP);
  clock.ns = Math.ceil(wrapNs) + 1000;
  const after = read32(timer);
  assert.ok(after < 4000, `wrapped to ${after}`);
  // Linux's acpi_pm_read: a 24-bit difference across the wrap is the elapsed count.
  const elapsed = (after - before) & (WRAP - 1);
  assert.ok(elapsed === 7 || elapsed === 8, `2 us is 7.2 ticks, not ${elapsed}`);
});

test("the PM timer after days of uptime: exact, and narrow reads see their bytes", () => {
  const clock = new FakeClock(0);
  const timer = new AcpiPmTimer(clock);
  clock.ns = 3 * 86_400 * NS_PER_S + 0.5e9;
  const expected = (3 * 86_400 * PM_TIMER_HZ + Math.floor(PM_TIMER_HZ / 2)) % WRAP;
  assert.equal(read32(timer), expected);
  const byte = new Uint8Array(1);
  timer.read(2, byte);
  assert.equal(byte[0], expected >>> 16);
  timer.read(3, byte);
  assert.equal(byte[0], 0);
  const word = new Uint8Array(2);
  timer.read(0, word);
  assert.equal((word[0] as number) | ((word[1] as number) << 8), expected & 0xffff);
});
