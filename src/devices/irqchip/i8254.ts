// The Intel 8254 programmable interval timer at 0x40-0x43 (datasheet 231164): three counters on a 1.193182 MHz
// input clock read from the machine clock, channel 0's OUT wired to IRQ 0, channel 2's gate and OUT reached
// through port 0x61 (system_control_port_b.ts). No timers inside: each access brings the counters up to the
// clock, `poll` does the same when the owner wakes up, and `nextDeadlineNs` says when IRQ 0 next rises, so
// that the owner can schedule that wakeup. A late poll delivers the edges it missed as one (coalesced).
import type { BusDevice } from "../../bus/io_bus.js";
import type { Clock } from "./clock.js";
import { ACCESS_LATCH, I8254Counter } from "./i8254_counter.js";
import { nsAtTick, ticksIn } from "./ticks.js";

export const PIT_PORT = 0x40;
export const PIT_PORT_COUNT = 4;
/** The input clock: 14.31818 MHz / 12, rounded as QEMU and KVM do. */
export const PIT_HZ = 1_193_182;

const CONTROL = 3; // port offset of the control word register; 0-2 are the counters
const COUNTERS = 3;
/** Control word bits 7-6: the counter, or 3 for the read-back command. */
const SELECT_SHIFT = 6;
const SELECT_READ_BACK = 3;
const ACCESS_SHIFT = 4;
const ACCESS_MASK = 0x3;
// Read-back command: bits 5 and 4 are active low; bits 3-1 select counters 2, 1 and 0.
const READ_BACK_NO_COUNT = 0x20;
const READ_BACK_NO_STATUS = 0x10;
const READ_BACK_COUNTER_SHIFT = 1;
const TIMER_CHANNEL = 0;
/**
 * Periodic IRQ 0 pulses come at most this often (5 kHz), whatever the count: KVM's PIT clamps its periodic
 * timer the same way (min_timer_period_us), so that a guest cannot make the host wake a million times a second.
 */
export const PIT_MIN_PERIODIC_NS = 200_000;
/** The speaker's channel: its gate is port 0x61 bit 0, low after reset; the gates of 0 and 1 are tied high. */
export const PIT_SPEAKER_CHANNEL = 2;

export class I8254 implements BusDevice {
  private readonly counters: readonly I8254Counter[];
  private irq0 = false;
  /** Rising edges of channel 0's OUT delivered on IRQ 0, and how many of them were merged into others. */
  private delivered = 0;
  private coalesced = 0;
  private lastPulseNs = Number.NEGATIVE_INFINITY;

  /**
   * @param clock the machine clock
   * @param setIrq0 called when IRQ 0 (channel 0's OUT) changes level; a rising edge is always preceded by a
   *   fall, so edge-triggered inputs (PIC, IOAPIC) latch every one the owner gets to see
   */
  constructor(
    private readonly clock: Clock,
    private readonly setIrq0: (level: boolean) => void = () => {},
  ) {
    // The gates after reset: channels 0 and 1 high, channel 2 low until port 0x61 raises it.
    this.counters = [new I8254Counter(true), new I8254Counter(true), new I8254Counter(false)];
  }

  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    if (data.length !== 1 || offset >= COUNTERS) return; // the control word register reads as 0, as in KVM
    const tick = this.advance();
    data[0] = this.counter(offset).readByte(tick);
    this.syncIrq0(tick);
  }

  write(offset: number, data: Uint8Array): void {
    if (data.length !== 1) return;
    const value = data[0] as number;
    const tick = this.advance();
    if (offset === CONTROL) this.writeControl(value, tick);
    else if (offset < COUNTERS) this.counter(offset).writeByte(value, tick);
    this.syncIrq0(tick);
  }

  /** Brings IRQ 0 up to the clock: the owner calls it at the deadline it was given, or whenever it likes. */
  poll(): void {
    this.syncIrq0(this.advance());
  }

  /**
   * When IRQ 0 next rises, in clock nanoseconds: now if an edge is due and not yet polled, and in periodic
   * modes no sooner than PIT_MIN_PERIODIC_NS after the last pulse. Undefined when channel 0 will not raise it
   * without a register access.
   */
  nextDeadlineNs(): number | undefined {
    const tick = this.advance();
    const timer = this.counter(TIMER_CHANNEL);
    let ns: number;
    if (timer.edgesPending > 0) ns = this.clock.nowNs();
    else {
      const next = timer.nextRisingTick(tick);
      if (next === undefined) return undefined;
      ns = nsAtTick(next, PIT_HZ);
    }
    return timer.periodic ? Math.max(ns, this.lastPulseNs + PIT_MIN_PERIODIC_NS) : ns;
  }

  /** A counter's gate input; the owner drives only channel 2's (port 0x61 bit 0). */
  setGate(channel: number, level: boolean): void {
    const tick = this.advance();
    this.counter(channel).setGate(level, tick);
    this.syncIrq0(tick);
  }

  gate(channel: number): boolean {
    return this.counter(channel).gateLevel;
  }

  /** A counter's OUT now (channel 2's is port 0x61 bit 5). */
  output(channel: number): boolean {
    const tick = this.advance();
    const out = this.counter(channel).output(tick);
    this.syncIrq0(tick);
    return out;
  }

  /** IRQ 0 pulses delivered so far: one per rising edge of channel 0's OUT, less the coalesced ones. */
  get irq0Pulses(): number {
    return this.delivered;
  }

  /** Rising edges that a late poll merged into another pulse (delivered + coalesced = all edges). */
  get irq0Coalesced(): number {
    return this.coalesced;
  }

  private counter(channel: number): I8254Counter {
    const c = this.counters[channel];
    if (c === undefined) throw new RangeError(`pit: no channel ${channel}`);
    return c;
  }

  private advance(): number {
    const tick = ticksIn(this.clock.nowNs(), PIT_HZ);
    for (const c of this.counters) c.advance(tick);
    return tick;
  }

  private writeControl(value: number, tick: number): void {
    const select = value >> SELECT_SHIFT;
    if (select === SELECT_READ_BACK) {
      for (let channel = 0; channel < COUNTERS; channel++) {
        if (!(value & (1 << (channel + READ_BACK_COUNTER_SHIFT)))) continue;
        const c = this.counter(channel);
        if (!(value & READ_BACK_NO_COUNT)) c.latchCount(tick);
        if (!(value & READ_BACK_NO_STATUS)) c.latchStatus(tick);
      }
    } else if (((value >> ACCESS_SHIFT) & ACCESS_MASK) === ACCESS_LATCH) {
      this.counter(select).latchCount(tick);
    } else {
      this.counter(select).program(value, tick);
    }
  }

  /** Drives IRQ 0: a pulse for timed rising edges since the last sync, then OUT's level now. */
  private syncIrq0(tick: number): void {
    const timer = this.counter(TIMER_CHANNEL);
    const edges = timer.takeEdges();
    if (edges > 0) {
      this.delivered++;
      this.lastPulseNs = this.clock.nowNs();
      this.coalesced += edges - 1;
      if (this.irq0) this.setIrq0Level(false);
      this.setIrq0Level(true);
    }
    const out = timer.output(tick);
    if (out !== this.irq0) this.setIrq0Level(out);
  }

  private setIrq0Level(level: boolean): void {
    this.irq0 = level;
    this.setIrq0(level);
  }
}
