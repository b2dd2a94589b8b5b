// A local APIC under test: a clock advanced by hand and the xAPIC page read and written as a guest does.
import type { Clock } from "../../src/devices/irqchip/clock.js";
import { LocalApic, type LocalApicConfig } from "../../src/devices/irqchip/local_apic.js";

/** The spurious-vector register, and its software-enable bit. */
export const SVR = 0x0f0;
export const SVR_ENABLE = 0x100;
/** 2 TSC ticks per clock nanosecond. */
export const TSC_HZ = 2_000_000_000;

export class HandClock implements Clock {
  ns = 0;
  nowNs(): number {
    return this.ns;
  }
}

/** A software-enabled local APIC with 32-bit register accessors; `bit` reads one vector of ISR, TMR or IRR. */
export function lapic(config: Partial<LocalApicConfig> = {}, clock = new HandClock()) {
  const eois: number[] = [];
  const apic = new LocalApic({ id: 0, clock, tscHz: TSC_HZ, eoiBroadcast: (v) => eois.push(v), ...config });
  const rd = (reg: number) => {
    const d = new Uint8Array(4);
    apic.read(reg, d);
    return new Uint32Array(d.buffer)[0] as number;
  };
  const wr = (reg: number, v: number) => apic.write(reg, new Uint8Array(new Uint32Array([v]).buffer));
  const bit = (base: number, vector: number) => (rd(base + (vector >> 5) * 16) >>> (vector & 31)) & 1;
  wr(SVR, SVR_ENABLE | 0xff);
  return { apic, clock, eois, rd, wr, bit };
}
