// The machine clock under the emulator, read by the TSC, the local APIC timers, the PIT and the PM timer
// alike: host monotonic time in nanoseconds. A virtual clock also jumps over idle time: when every vCPU is
// halted it moves straight to the next timer's deadline instead of sleeping until it.
import type { Clock } from "../devices/irqchip/clock.js";

export const CLOCK_MODES = ["host", "virtual"] as const;
export type ClockMode = (typeof CLOCK_MODES)[number];

/** The emulated TSC counts the machine clock's nanoseconds: 1 GHz. */
export const TSC_HZ = 1_000_000_000;

const hostNs = () => Number(process.hrtime.bigint());

export class MachineClock implements Clock {
  /** How far the clock runs ahead of host time (idle time skipped). */
  private skipped = 0;

  constructor(readonly mode: ClockMode) {}

  nowNs(): number {
    return hostNs() + this.skipped;
  }

  /**
   * Every vCPU is idle until `deadlineNs` (Infinity: until something from outside): sleeps on `kick` until
   * then, or, with a virtual clock and a finite deadline, jumps there at once.
   */
  idleUntil(deadlineNs: number, kick: Int32Array, maxWaitMs: number): void {
    const wait = deadlineNs - this.nowNs();
    if (wait <= 0) return;
    if (this.mode === "virtual" && Number.isFinite(deadlineNs)) {
      if (Atomics.load(kick, 0) === 0) this.skipped += wait;
      return;
    }
    Atomics.wait(kick, 0, 0, Math.min(wait / 1e6, maxWaitMs));
  }
}

/** Host time, for devices outside the emulator's thread (e.g. the PM timer beside KVM's in-kernel irqchip). */
export const hostClock: Clock = new MachineClock("host");
