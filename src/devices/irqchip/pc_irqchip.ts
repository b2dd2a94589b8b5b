// The PC's interrupt controllers and timers in userspace, as the emulator's irqchip (crosvm's
// UserspaceIrqChip is the model of the shape): the 8259A pair, the IOAPIC, one local APIC per vCPU, the 8254
// PIT with port 0x61, and the ACPI PM timer, all reading one clock. ISA IRQ n reaches PIC input n and IOAPIC
// pin n (IRQ 0 on pin 0, as under KVM and as the MP table and MADT announce). No threads or timers inside:
// the owner polls at the deadlines this reports.

import { IOAPIC_VERSION, ioapicId } from "../../arch/x86/interrupt_topology.js";
import { IOAPIC_ADDR } from "../../arch/x86/layout.js";
import type { IoBus } from "../../bus/io_bus.js";
import { type ApicMessage, deliverMessage } from "./apic_message.js";
import type { Clock } from "./clock.js";
import { I8254, PIT_PORT, PIT_PORT_COUNT } from "./i8254.js";
import {
  ELCR_PORT,
  ELCR_PORT_COUNT,
  I8259Pair,
  PIC_IRQ_COUNT,
  PIC_MASTER_PORT,
  PIC_PORT_COUNT,
  PIC_SLAVE_PORT,
} from "./i8259.js";
import { IOAPIC_MMIO_SIZE, IOAPIC_PIN_COUNT, Ioapic } from "./ioapic.js";
import { LocalApic } from "./local_apic.js";
import { AcpiPmTimer, PM_TIMER_PORT, PM_TIMER_SIZE } from "./pm_timer.js";
import { PORT_B_PORT, SystemControlPortB } from "./system_control_port_b.js";

export interface PcIrqChipConfig {
  clock: Clock;
  cpus: number;
  /** The TSC rate, for TSC-deadline timers. */
  tscHz: number;
  /** Whether the local APICs may enter x2APIC mode (CPUID.1:ECX.x2APIC); true by default. */
  x2apic?: boolean;
  /** Something happened that may wake a halted vCPU (an interrupt accepted by `lapics[cpu]`). */
  wake?: (cpu: number) => void;
}

export class PcIrqChip {
  readonly pic: I8259Pair;
  readonly ioapic: Ioapic;
  readonly lapics: LocalApic[] = [];
  readonly pit: I8254;
  readonly portB: SystemControlPortB;
  readonly pmTimer: AcpiPmTimer;

  constructor(config: PcIrqChipConfig) {
    const { clock, cpus, tscHz } = config;
    const wake = config.wake ?? (() => {});
    const send = (msg: ApicMessage) => deliverMessage(msg, this.lapics);
    // The 8259's INTR drives the boot CPU's LINT0 (ExtINT), as on a PC.
    this.pic = new I8259Pair((level) => this.lapics[0]?.setLint(0, level));
    this.ioapic = new Ioapic({ id: ioapicId(cpus), version: IOAPIC_VERSION, send });
    for (let id = 0; id < cpus; id++) {
      this.lapics.push(
        new LocalApic({
          id,
          clock,
          tscHz,
          x2apic: config.x2apic ?? true,
          sendIpi: (msg) => {
            send(msg);
          },
          eoiBroadcast: (vector) => this.ioapic.eoi(vector),
          extIntVector: () => this.pic.acknowledge(),
          wake: () => wake(id),
        }),
      );
    }
    this.pit = new I8254(clock, (level) => this.setIrq(0, level));
    this.portB = new SystemControlPortB(this.pit, clock);
    this.pmTimer = new AcpiPmTimer(clock);
  }

  /** Puts the controllers' and timers' registers on the bus (the local APICs are reached through their vCPU). */
  register(bus: IoBus): void {
    bus.registerPio(PIC_MASTER_PORT, PIC_PORT_COUNT, this.pic.master, "pic-master");
    bus.registerPio(PIC_SLAVE_PORT, PIC_PORT_COUNT, this.pic.slave, "pic-slave");
    bus.registerPio(ELCR_PORT, ELCR_PORT_COUNT, this.pic.elcr, "elcr");
    bus.registerPio(PIT_PORT, PIT_PORT_COUNT, this.pit, "pit");
    bus.registerPio(PORT_B_PORT, 1, this.portB, "port-b");
    bus.registerPio(PM_TIMER_PORT, PM_TIMER_SIZE, this.pmTimer, "pm-timer");
    bus.registerMmio(IOAPIC_ADDR, IOAPIC_MMIO_SIZE, this.ioapic, "ioapic");
  }

  /** A device's interrupt line (an ISA IRQ or an IOAPIC pin), as KVM_IRQ_LINE would take it. */
  setIrq(gsi: number, level: boolean): void {
    if (gsi < PIC_IRQ_COUNT) this.pic.setIrq(gsi, level);
    if (gsi < IOAPIC_PIN_COUNT) this.ioapic.setIrq(gsi, level);
  }

  /** Brings the timers up to the clock: expired ones raise their interrupts. */
  poll(): void {
    this.pit.poll();
    for (const lapic of this.lapics) lapic.poll();
  }

  /** When the next timer fires (nanoseconds on the clock), or Infinity. */
  nextDeadlineNs(): number {
    let next = this.pit.nextDeadlineNs() ?? Number.POSITIVE_INFINITY;
    for (const lapic of this.lapics) next = Math.min(next, lapic.nextDeadlineNs());
    return next;
  }
}
