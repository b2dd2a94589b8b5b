// The 8254 PIT and port 0x61 through their ports, with a clock advanced by hand, as Linux and SeaBIOS use them.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { BusDevice } from "../src/bus/io_bus.js";
import type { Clock } from "../src/devices/irqchip/clock.js";
import { I8254, PIT_HZ, PIT_MIN_PERIODIC_NS } from "../src/devices/irqchip/i8254.js";
import { I8259Pair } from "../src/devices/irqchip/i8259.js";
import { SystemControlPortB } from "../src/devices/irqchip/system_control_port_b.js";
import { nsAtTick, ticksIn } from "../src/devices/irqchip/ticks.js";

const CH0 = 0;
const CH2 = 2;
const CONTROL = 3;
/** Linux's LATCH for HZ=100: (PIT_TICK_RATE + HZ/2) / HZ. */
const LATCH_100HZ = 11932;
const NS_PER_S = 1e9;

class FakeClock implements Clock {
  ns = 0;
  nowNs(): number {
    return this.ns;
  }
  /** Moves to the first nanosecond of PIT input tick `t`. */
  toTick(t: number): void {
    this.ns = nsAtTick(t, PIT_HZ);
  }
}

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

function pit() {
  const clock = new FakeClock();
  const irq: boolean[] = [];
  const pit = new I8254(clock, (level) => irq.push(level));
  const portB = new SystemControlPortB(pit, clock);
  return { clock, irq, pit, io: ports(pit), b: ports(portB) };
}

type Pit = ReturnType<typeof pit>;

function program(p: Pit, channel: number, controlWord: number, count: number): void {
  p.io.wr(CONTROL, controlWord);
  p.io.wr(channel, count & 0xff);
  p.io.wr(channel, count >> 8);
}

/** A counter latch command and the two reads Linux does after it. */
function latched(p: Pit, channel: number): number {
  p.io.wr(CONTROL, channel << 6);
  const lsb = p.io.rd(channel);
  return lsb | (p.io.rd(channel) << 8);
}

test("ticks: nanoseconds and PIT ticks convert exactly, also days into the run", () => {
  for (const ns of [0, 1, 837, 838, NS_PER_S - 1, NS_PER_S, 86_400 * NS_PER_S + 12_345]) {
    const t = ticksIn(ns, PIT_HZ);
    assert.ok(nsAtTick(t, PIT_HZ) <= ns && nsAtTick(t + 1, PIT_HZ) > ns);
  }
  assert.equal(ticksIn(NS_PER_S, PIT_HZ), PIT_HZ);
  assert.equal(ticksIn(10 * 86_400 * NS_PER_S, PIT_HZ), 10 * 86_400 * PIT_HZ);
});

test("mode 2 at 100 Hz as Linux programs it: counts, IRQ 0 edges and deadlines over one second", () => {
  const p = pit();
  p.clock.ns = 5 * NS_PER_S; // the clock does not start at 0
  const start = ticksIn(p.clock.ns, PIT_HZ);
  p.clock.toTick(start);
  program(p, CH0, 0x34, LATCH_100HZ); // channel 0, lsb then msb, mode 2, binary
  assert.deepEqual(p.irq, [true], "OUT goes high with the control word");
  assert.equal(latched(p, CH0), LATCH_100HZ);
  p.clock.toTick(start + 100);
  assert.equal(latched(p, CH0), LATCH_100HZ - 100);
  p.clock.toTick(start + LATCH_100HZ - 1);
  assert.equal(latched(p, CH0), 1);
  assert.equal(p.pit.output(CH0), false, "low for the one clock at count 1");
  p.clock.toTick(start + LATCH_100HZ);
  assert.equal(latched(p, CH0), LATCH_100HZ, "reloaded");
  assert.equal(p.pit.irq0Pulses, 1);

  // The owner sleeps until each deadline and polls: one IRQ 0 pulse per period, none lost, 100 in a second.
  const first = nsAtTick(start + LATCH_100HZ, PIT_HZ);
  for (let i = 0; i < 100; i++) {
    const deadline = p.pit.nextDeadlineNs();
    assert.equal(deadline, nsAtTick(start + (i + 2) * LATCH_100HZ, PIT_HZ));
    p.clock.ns = deadline;
    p.pit.poll();
  }
  assert.equal(p.pit.irq0Pulses, 101);
  assert.equal(p.pit.irq0Coalesced, 0);
  assert.ok(Math.abs(p.clock.ns - first - NS_PER_S) < 20e3, "100 periods of 11932 clocks: 1.000015 s");
  assert.deepEqual(p.irq.slice(-4), [false, true, false, true], "each edge a fall then a rise");
});

test("a late poll coalesces missed periods but counts them", () => {
  const p = pit();
  program(p, CH0, 0x34, LATCH_100HZ);
  p.clock.toTick(3 * LATCH_100HZ + 5);
  assert.equal(p.pit.nextDeadlineNs(), p.clock.ns, "edges are due now");
  p.pit.poll();
  assert.equal(p.pit.irq0Pulses, 1);
  assert.equal(p.pit.irq0Coalesced, 2);
  assert.equal(p.pit.nextDeadlineNs(), nsAtTick(4 * LATCH_100HZ, PIT_HZ));
});

test("SeaBIOS's pit_setup: mode 2 with count 0 is 65536 clocks, 18.2 Hz", () => {
  const p = pit();
  program(p, CH0, 0x34, 0);
  assert.equal(latched(p, CH0), 0);
  p.clock.toTick(1);
  assert.equal(latched(p, CH0), 0xffff);
  assert.equal(p.pit.nextDeadlineNs(), nsAtTick(0x10000, PIT_HZ));
});

test("mode 3 with count 0, as the IBM PC BIOS set channel 0: counts by two, OUT high then low", () => {
  const p = pit();
  p.io.wr(CONTROL, 0x36); // channel 0, lsb then msb, mode 3
  p.io.wr(CH0, 0);
  p.io.wr(CH0, 0);
  assert.equal(latched(p, CH0), 0, "65536 reads as 0");
  p.clock.toTick(1);
  assert.equal(latched(p, CH0), 0xfffe);
  p.clock.toTick(0x7fff);
  assert.equal(latched(p, CH0), 2);
  assert.equal(p.pit.output(CH0), true);
  p.clock.toTick(0x8000);
  assert.equal(latched(p, CH0), 0);
  assert.equal(p.pit.output(CH0), false, "second half low");
  assert.equal(p.irq.at(-1), false);
  p.clock.toTick(0x10000);
  p.pit.poll();
  assert.equal(p.irq.at(-1), true);
  assert.equal(p.pit.irq0Pulses, 1);

  // An odd count: high for (N + 1) / 2 clocks counting N - 1 down to 0, low for (N - 1) / 2.
  program(p, CH2, 0xb6, 5);
  p.b.wr(0, 0x01); // gate 2 high: the count loads and runs
  const t0 = ticksIn(p.clock.ns, PIT_HZ);
  const seen: [number, boolean][] = [];
  for (let i = 0; i < 5; i++) {
    p.clock.toTick(t0 + i);
    seen.push([latched(p, CH2), p.pit.output(CH2)]);
  }
  assert.deepEqual(seen, [
    [4, true],
    [2, true],
    [0, true],
    [4, false],
    [2, false],
  ]);
});

test("mode 0 one-shot on channel 0: IRQ 0 rises at the terminal count, the count wraps on", () => {
  const p = pit();
  program(p, CH0, 0x30, 1000);
  assert.deepEqual(p.irq, [], "OUT stays low");
  assert.equal(p.pit.nextDeadlineNs(), nsAtTick(1000, PIT_HZ));
  p.clock.toTick(999);
  p.pit.poll();
  assert.deepEqual(p.irq, []);
  p.clock.toTick(1000);
  p.pit.poll();
  assert.deepEqual(p.irq, [true]);
  assert.equal(p.pit.nextDeadlineNs(), undefined, "one shot");
  p.clock.toTick(1003);
  assert.equal(latched(p, CH0), 0xfffd);

  // Rearming: the first byte stops the count and drops OUT, the second starts it again.
  p.io.wr(CH0, 10);
  assert.deepEqual(p.irq, [true, false]);
  p.clock.toTick(2000);
  assert.equal(latched(p, CH0), 0xfffd, "held while half written");
  p.io.wr(CH0, 0);
  p.clock.toTick(2010);
  p.pit.poll();
  assert.deepEqual(p.irq, [true, false, true]);
});

test("counter latch: the count holds until read, a second latch is ignored", () => {
  const p = pit();
  program(p, CH0, 0x34, 0x1234);
  p.io.wr(CONTROL, 0x00);
  p.clock.toTick(0x34);
  p.io.wr(CONTROL, 0x00);
  assert.equal(p.io.rd(CH0), 0x34);
  p.clock.toTick(0x100);
  assert.equal(p.io.rd(CH0), 0x12, "both bytes from the first latch");
  assert.equal(p.io.rd(CH0) | (p.io.rd(CH0) << 8), 0x1234 - 0x100, "then live reads");
});

test("read-back: status then count, null count until a count loads, several counters at once", () => {
  const p = pit();
  p.io.wr(CONTROL, 0x34);
  p.io.wr(CONTROL, 0xe2); // read-back: status only, channel 0
  assert.equal(p.io.rd(CH0), 0xf4, "OUT high, null count, lsb/msb, mode 2");
  p.io.wr(CH0, 100);
  p.io.wr(CH0, 0);
  p.clock.toTick(40);
  program(p, CH2, 0xb0, 0x50); // channel 2, mode 0, gate low: loaded, not counting
  p.io.wr(CONTROL, 0xc2 | 0x08); // read-back: count and status, channels 0 and 2
  assert.equal(p.io.rd(CH0), 0xb4, "OUT high, count loaded");
  assert.equal(p.io.rd(CH0) | (p.io.rd(CH0) << 8), 60);
  assert.equal(p.io.rd(CH2), 0x30, "OUT low, mode 0");
  assert.equal(p.io.rd(CH2) | (p.io.rd(CH2) << 8), 0x50);
  p.io.wr(CONTROL, 0xd2); // count only
  p.clock.toTick(50);
  p.io.wr(CONTROL, 0xd2);
  assert.equal(p.io.rd(CH0) | (p.io.rd(CH0) << 8), 60, "the first latch holds");
});

test("BCD: counts written and read as decimal digits", () => {
  const p = pit();
  program(p, CH0, 0x35, 0x1000); // mode 2, BCD: 1000 clocks
  p.clock.toTick(1);
  assert.equal(latched(p, CH0), 0x0999);
  p.clock.toTick(990);
  assert.equal(latched(p, CH0), 0x0010);
  assert.equal(p.pit.nextDeadlineNs(), nsAtTick(1000, PIT_HZ));
  program(p, CH0, 0x31, 0); // mode 0, BCD: 0 is 10000
  assert.equal(latched(p, CH0), 0);
  p.clock.toTick(991);
  assert.equal(latched(p, CH0), 0x9999);
});

test("lsb-only and msb-only access", () => {
  const p = pit();
  p.io.wr(CONTROL, 0x14); // lsb only, mode 2
  p.io.wr(CH0, 0x80);
  assert.equal(p.io.rd(CH0), 0x80);
  p.io.wr(CONTROL, 0x24); // msb only, mode 2
  p.io.wr(CH0, 0x02);
  p.clock.toTick(1);
  assert.equal(p.io.rd(CH0), 0x01, "0x1ff, high byte");
  assert.equal(p.pit.nextDeadlineNs(), nsAtTick(0x200, PIT_HZ));
});

test("port 0x61: Linux's pit_calibrate_tsc polls channel 2's OUT in mode 0", () => {
  const p = pit();
  const latch = Math.floor(PIT_HZ / 20); // CAL_MS = 50
  p.b.wr(0, (p.b.rd(0) & ~0x02) | 0x01); // gate high, speaker off
  assert.equal(p.pit.gate(CH2), true);
  program(p, CH2, 0xb0, latch);
  let reads = 0;
  const step = 10_000; // ns per loop iteration of the guest
  while ((p.b.rd(0) & 0x20) === 0) {
    p.clock.ns += step;
    reads++;
  }
  const elapsed = reads * step;
  assert.ok(Math.abs(elapsed - 50e6) <= step, `OUT rose after ${elapsed} ns`);
  assert.deepEqual(p.irq, [], "channel 2 raises no interrupt");

  // The gate holds counting in mode 0.
  program(p, CH2, 0xb0, 1000);
  const t = ticksIn(p.clock.ns, PIT_HZ);
  p.clock.toTick(t + 100);
  p.b.wr(0, 0x00);
  p.clock.toTick(t + 5000);
  assert.equal(latched(p, CH2), 900);
  assert.equal(p.b.rd(0) & 0x20, 0);
  p.b.wr(0, 0x01);
  p.clock.toTick(t + 5900);
  assert.equal(p.b.rd(0) & 0x20, 0x20);
});

test("port 0x61: quick_pit_calibrate reads channel 2's MSB as it falls", () => {
  const p = pit();
  p.b.wr(0, 0x01);
  p.io.wr(CONTROL, 0xb0);
  p.io.wr(CH2, 0xff);
  p.io.wr(CH2, 0xff);
  const msb = () => {
    p.io.rd(CH2); // the LSB, discarded
    return p.io.rd(CH2);
  };
  assert.equal(msb(), 0xff);
  p.clock.toTick(256);
  assert.equal(msb(), 0xfe);
  p.clock.toTick(256 * 10 + 1);
  assert.equal(msb(), 0xf5);
});

test("port 0x61: writable bits, the refresh toggle, gate 2 low after reset", () => {
  const p = pit();
  assert.equal(p.pit.gate(CH2), false);
  assert.equal(p.pit.gate(CH0), true);
  p.b.wr(0, 0xff);
  assert.equal(p.b.rd(0) & 0xcf, 0x0f, "bits 0-3 kept; 6 and 7 never set");
  const refresh = () => p.b.rd(0) & 0x10;
  const first = refresh();
  p.clock.ns += 15_085;
  assert.notEqual(refresh(), first);
  p.clock.ns += 15_085;
  assert.equal(refresh(), first);
});

test("modes 1 and 5: the gate's rising edge triggers, and retriggers", () => {
  const p = pit();
  program(p, CH2, 0xb2, 100); // mode 1
  assert.equal(p.pit.output(CH2), true, "waits for a trigger");
  p.b.wr(0, 0x01);
  assert.equal(p.pit.output(CH2), false);
  p.clock.toTick(60);
  p.b.wr(0, 0x00);
  p.b.wr(0, 0x01); // retrigger: 100 more clocks
  p.clock.toTick(159);
  assert.equal(p.pit.output(CH2), false);
  p.clock.toTick(160);
  assert.equal(p.pit.output(CH2), true);

  program(p, CH2, 0xba, 10); // mode 5: a strobe 10 clocks after the trigger
  p.b.wr(0, 0x00);
  p.b.wr(0, 0x01);
  const t = ticksIn(p.clock.ns, PIT_HZ);
  p.clock.toTick(t + 9);
  assert.equal(p.pit.output(CH2), true);
  p.clock.toTick(t + 10);
  assert.equal(p.pit.output(CH2), false);
  p.clock.toTick(t + 11);
  assert.equal(p.pit.output(CH2), true);
});

test("mode 4 on channel 0 (Linux's oneshot clockevent): a strobe whose end raises IRQ 0 once", () => {
  const p = pit();
  program(p, CH0, 0x38, 50);
  assert.deepEqual(p.irq, [true]);
  assert.equal(p.pit.nextDeadlineNs(), nsAtTick(51, PIT_HZ));
  p.clock.toTick(50);
  p.pit.poll();
  assert.deepEqual(p.irq, [true, false]);
  p.clock.toTick(51);
  p.pit.poll();
  assert.deepEqual(p.irq, [true, false, true]);
  assert.equal(p.pit.nextDeadlineNs(), undefined);

  // Linux's pit_next_event writes only the count: each write starts a new strobe.
  p.io.wr(CH0, 100);
  p.io.wr(CH0, 0);
  p.clock.toTick(120);
  p.io.wr(CH0, 40);
  p.io.wr(CH0, 0);
  assert.equal(p.pit.nextDeadlineNs(), nsAtTick(161, PIT_HZ));
});

test("mode 2: a new count takes effect at the end of the current period", () => {
  const p = pit();
  program(p, CH0, 0x34, 10000);
  p.clock.toTick(4000);
  program(p, CH0, 0x34, 10000); // a control word restarts the count at once
  p.clock.toTick(8000);
  p.io.wr(CH0, 2000 & 0xff);
  p.io.wr(CH0, 2000 >> 8);
  assert.equal(latched(p, CH0), 6000, "the old period runs on");
  assert.equal(p.pit.nextDeadlineNs(), nsAtTick(14000, PIT_HZ));
  p.clock.toTick(14000);
  p.pit.poll();
  assert.equal(p.pit.nextDeadlineNs(), nsAtTick(16000, PIT_HZ));
  assert.equal(p.pit.irq0Pulses, 1);
  p.clock.toTick(16500);
  assert.equal(latched(p, CH0), 1500);
  assert.equal(p.pit.irq0Pulses, 2, "the read delivered the edge at 16000");
});

test("periodic rates above 5 kHz: deadlines no closer than 200 us, the edges in between coalesced", () => {
  const p = pit();
  program(p, CH0, 0x34, 1); // an illegal count of 1 runs as 2
  p.clock.toTick(2);
  p.pit.poll();
  assert.equal(p.pit.irq0Pulses, 1);
  const pulsed = p.clock.ns;
  assert.equal(p.pit.nextDeadlineNs(), pulsed + PIT_MIN_PERIODIC_NS);
  p.clock.ns = pulsed + PIT_MIN_PERIODIC_NS;
  p.pit.poll();
  const edges = Math.floor(ticksIn(p.clock.ns, PIT_HZ) / 2) - 1;
  assert.equal(p.pit.irq0Pulses + p.pit.irq0Coalesced, edges + 1);
  assert.equal(p.pit.irq0Pulses, 2);
});

test("IRQ 0 through the 8259A: 100 interrupts for 100 periods, also when the guest is slow to EOI", () => {
  const clock = new FakeClock();
  const pic = new I8259Pair();
  const timer = new I8254(clock, (level) => pic.setIrq(0, level));
  const io = ports(timer);
  const master = ports(pic.master);
  master.wr(0, 0x11);
  master.wr(1, 0x30);
  master.wr(1, 0x04);
  master.wr(1, 0x01);
  master.wr(1, 0xfe);
  io.wr(CONTROL, 0x34);
  io.wr(CH0, LATCH_100HZ & 0xff);
  io.wr(CH0, LATCH_100HZ >> 8);
  let taken = 0;
  for (let i = 0; i < 100; i++) {
    clock.ns = timer.nextDeadlineNs() ?? Number.NaN;
    timer.poll();
    // The handler runs a while after the edge (half a period), then EOIs.
    clock.ns += 5e6;
    timer.poll();
    if (pic.hasInterrupt()) {
      assert.equal(pic.acknowledge(), 0x30);
      taken++;
      master.wr(0, 0x20);
    }
  }
  assert.equal(taken, 100);
  assert.equal(timer.irq0Coalesced, 0);
});
