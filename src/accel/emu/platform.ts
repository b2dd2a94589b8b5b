// What the emulated CPU sees of the machine's interrupt controllers and timers when there is an irqchip:
// its own local APIC (for interrupts, the xAPIC page, x2APIC MSRs, CR8 and TSC-deadline) and the machine's
// timers, polled at block boundaries and waited for in HLT.
import type { LocalApic } from "../../devices/irqchip/local_apic.js";

export interface EmuPlatform {
  /** This vCPU's local APIC. */
  readonly apic: LocalApic;
  /** The machine clock, in nanoseconds (the TSC, APIC timer, PIT and PM timer read it). */
  nowNs(): number;
  /** Brings the timers up to the clock. */
  poll(): void;
  /** When the next timer fires, or Infinity. */
  nextDeadlineNs(): number;
  /** Nothing to run until the next timer: sleep until it or a kick (a virtual clock jumps there instead). */
  idle(kick: Int32Array): void;
}
