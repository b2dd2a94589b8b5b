// The machine clock that every timer model reads (PIT, PM timer, local APIC timer, TSC, RTC): one injected
// source of time, so the models hold no timers of their own and tests can advance time by hand.

/** Monotonic time in nanoseconds, as a JS number (exact to the nanosecond for 104 days of uptime). */
export interface Clock {
  nowNs(): number;
}

/** A clock the machine's idle loop waits on: it sleeps until a deadline or a kick, or skips the wait. */
export interface IdleClock extends Clock {
  idleUntil(deadlineNs: number, kick: Int32Array, maxWaitMs: number): void;
}
