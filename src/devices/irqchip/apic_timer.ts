// The local APIC timer (Intel SDM vol. 3, 11.5.4): one-shot and periodic modes counting down from the initial
// count at the APIC bus frequency over the divide configuration, and TSC-deadline mode firing when the TSC
// reaches IA32_TSC_DEADLINE. Nothing ticks: the current count is computed from the clock when read, and the
// owner asks for the next deadline and calls `expire` when the clock has passed it.
import type { Clock } from "./clock.js";

/**
 * The APIC bus runs at 1 GHz, one tick per nanosecond, as KVM's default (APIC_BUS_CYCLE_NS_DEFAULT = 1): an
 * initial count of N with divide-by-1 lasts N ns. CPUID leaf 0x15's core crystal, if reported, should say the same.
 */
export const APIC_BUS_HZ = 1_000_000_000;
const NS_PER_SECOND = 1_000_000_000;
const NS_PER_TICK = NS_PER_SECOND / APIC_BUS_HZ;
const NS_PER_SECOND_BIG = 1_000_000_000n;

export enum TimerMode {
  ONE_SHOT = 0,
  PERIODIC = 1,
  TSC_DEADLINE = 2,
}

/** Divide configuration bits 0, 1 and 3 (bit 2 is reserved). */
export const DIVIDE_CONFIG_MASK = 0b1011;

/** The divisor a divide configuration value selects: 0b0000 is 2, ..., 0b1010 is 128, 0b1011 is 1. */
export function divisorOf(config: number): number {
  const code = ((config >>> 1) & 0b100) | (config & 0b11);
  return code === 0b111 ? 1 : 2 << code;
}

/** The TSC at clock time `ns`: tsc = offset + ns * hz / 1e9. The owner's RDTSC must agree with this. */
export function tscAt(ns: number, tscHz: number, offset: bigint): bigint {
  return offset + (BigInt(Math.floor(ns)) * BigInt(tscHz)) / NS_PER_SECOND_BIG;
}

export class ApicTimer {
  private mode = TimerMode.ONE_SHOT;
  private initial = 0;
  private divideConfig = 0;
  private tickNs = divisorOf(0) * NS_PER_TICK;
  /** The next expiry in clock nanoseconds; Infinity when disarmed. */
  private deadline = Number.POSITIVE_INFINITY;
  private tscDeadlineValue = 0n;
  private offset = 0n;

  constructor(
    private readonly clock: Clock,
    private readonly tscHz: number,
  ) {
    if (!Number.isSafeInteger(tscHz) || tscHz <= 0) throw new RangeError(`TSC frequency ${tscHz} Hz`);
  }

  get timerMode(): TimerMode {
    return this.mode;
  }

  /** Follows the LVT timer's mode field (3, reserved, counts as one-shot). */
  setMode(mode: number): void {
    const next = mode === TimerMode.PERIODIC || mode === TimerMode.TSC_DEADLINE ? mode : TimerMode.ONE_SHOT;
    // Switching to or from TSC-deadline mode disarms the timer (SDM 11.5.4.1); one-shot <-> periodic keeps counting.
    if ((next === TimerMode.TSC_DEADLINE) !== (this.mode === TimerMode.TSC_DEADLINE)) {
      this.initial = 0;
      this.tscDeadlineValue = 0n;
      this.deadline = Number.POSITIVE_INFINITY;
    }
    this.mode = next;
  }

  get initialCount(): number {
    return this.initial;
  }

  /** A write of the initial count (re)starts the count; 0 stops it. Ignored in TSC-deadline mode. */
  setInitialCount(count: number): void {
    if (this.mode === TimerMode.TSC_DEADLINE) return;
    this.initial = count >>> 0;
    this.deadline = this.initial === 0 ? Number.POSITIVE_INFINITY : this.clock.nowNs() + this.periodNs;
  }

  currentCount(): number {
    if (this.mode === TimerMode.TSC_DEADLINE || this.deadline === Number.POSITIVE_INFINITY) return 0;
    let remaining = this.deadline - this.clock.nowNs();
    if (this.mode === TimerMode.PERIODIC) {
      // Expiries not yet collected by `expire` still reload the count.
      remaining %= this.periodNs;
      if (remaining <= 0) remaining += this.periodNs;
    }
    if (remaining <= 0) return 0;
    return Math.min(this.initial, Math.ceil(remaining / this.tickNs));
  }

  get divideConfiguration(): number {
    return this.divideConfig;
  }

  /** A new divisor applies from now: the count in progress continues from its current value at the new rate. */
  setDivideConfiguration(value: number): void {
    const count = this.currentCount();
    this.divideConfig = value & DIVIDE_CONFIG_MASK;
    this.tickNs = divisorOf(this.divideConfig) * NS_PER_TICK;
    if (this.deadline !== Number.POSITIVE_INFINITY && this.mode !== TimerMode.TSC_DEADLINE) {
      this.deadline = this.clock.nowNs() + count * this.tickNs;
    }
  }

  /** IA32_TSC_DEADLINE as read: the armed deadline, or 0 once it fired, was cleared, or outside TSC-deadline mode. */
  get tscDeadline(): bigint {
    return this.mode === TimerMode.TSC_DEADLINE ? this.tscDeadlineValue : 0n;
  }

  /** A write of IA32_TSC_DEADLINE: 0 disarms; ignored outside TSC-deadline mode. */
  setTscDeadline(tsc: bigint): void {
    if (this.mode !== TimerMode.TSC_DEADLINE) return;
    this.tscDeadlineValue = BigInt.asUintN(64, tsc);
    this.armTscDeadline();
  }

  /** The TSC's offset from the clock (see tscAt): a guest's IA32_TSC write moves it, and an armed deadline with it. */
  get tscOffset(): bigint {
    return this.offset;
  }

  set tscOffset(offset: bigint) {
    this.offset = offset;
    if (this.mode === TimerMode.TSC_DEADLINE) this.armTscDeadline();
  }

  /** When the timer next expires, in clock nanoseconds; Infinity when it is disarmed. */
  nextDeadlineNs(): number {
    return this.deadline;
  }

  /**
   * Collects an expiry due by `now`: returns true if the timer expired (one interrupt, however many periods
   * passed: a periodic timer the owner polls late coalesces them, so a short period costs one interrupt per poll).
   */
  expire(now: number): boolean {
    if (now < this.deadline) return false;
    if (this.mode === TimerMode.PERIODIC) {
      const period = this.periodNs;
      this.deadline += (Math.floor((now - this.deadline) / period) + 1) * period;
    } else {
      this.deadline = Number.POSITIVE_INFINITY;
      this.tscDeadlineValue = 0n;
    }
    return true;
  }

  reset(): void {
    this.mode = TimerMode.ONE_SHOT;
    this.initial = 0;
    this.divideConfig = 0;
    this.tickNs = divisorOf(0) * NS_PER_TICK;
    this.deadline = Number.POSITIVE_INFINITY;
    this.tscDeadlineValue = 0n;
  }

  private get periodNs(): number {
    return this.initial * this.tickNs;
  }

  /** The clock time at which the TSC reaches the deadline: the first ns with tscAt(ns) >= deadline. */
  private armTscDeadline(): void {
    if (this.tscDeadlineValue === 0n) {
      this.deadline = Number.POSITIVE_INFINITY;
      return;
    }
    const hz = BigInt(this.tscHz);
    const ticks = this.tscDeadlineValue - this.offset;
    this.deadline = ticks <= 0n ? 0 : Number((ticks * NS_PER_SECOND_BIG + hz - 1n) / hz);
  }
}
