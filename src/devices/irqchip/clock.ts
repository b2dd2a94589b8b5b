// The machine clock that every timer model reads (PIT, PM timer, local APIC timer, TSC, RTC): one injected
// source of time, so the models hold no timers of their own and tests can advance time by hand.

/** Monotonic time in nanoseconds, as a JS number (exact to the nanosecond for 104 days of uptime). */
export interface Clock {
  nowNs(): number;
}
