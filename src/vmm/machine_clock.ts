// The machine clock under the emulator: host monotonic time in nanoseconds, the same in every thread of the
// process, read by the TSC, the local APIC timers, the PIT and the PM timer alike.
import type { Clock } from "../devices/irqchip/clock.js";

export const hostClock: Clock = { nowNs: () => Number(process.hrtime.bigint()) };

/** The emulated TSC counts the machine clock's nanoseconds: 1 GHz. */
export const TSC_HZ = 1_000_000_000;
