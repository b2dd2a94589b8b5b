// The PC's pair of 8259A PICs: the master at 0x20/0x21 takes ISA IRQ 0-7, the slave at 0xa0/0xa1 takes IRQ
// 8-15 and drives the master's IR2, and the PIIX/ICH edge/level control registers (ELCR, 0x4d0/0x4d1) choose
// each line's trigger mode. The master's INT output is the INTR line to the boot CPU (its LINT0, in ExtINT
// mode), and `acknowledge` is the CPU's INTA cycle, which returns the vector. The three BusDevices are to be
// registered at those ports; each sees offsets from its base.
import type { BusDevice } from "../../bus/io_bus.js";
import { I8259Chip, NO_LEVEL, SPURIOUS_LEVEL } from "./i8259_chip.js";

export const PIC_MASTER_PORT = 0x20;
export const PIC_SLAVE_PORT = 0xa0;
export const PIC_PORT_COUNT = 2;
export const ELCR_PORT = 0x4d0;
export const ELCR_PORT_COUNT = 2;

/** ISA IRQs: 0-7 on the master, 8-15 on the slave. */
export const PIC_IRQ_COUNT = 16;
const LEVELS_PER_CHIP = 8;
/** The master input the slave drives; ISA IRQ 2 has no line of its own on a PC (IRQ 9 took its place). */
const CASCADE_LEVEL = 2;
/**
 * ELCR bits that may be set (PIIX3 datasheet, and QEMU's elcr masks): IRQ 0, 1, 2, 8 and 13 (timer,
 * keyboard, cascade, RTC, FPU error) are edge-triggered on a PC and their bits read as 0.
 */
const ELCR_MASTER_WRITABLE = 0xf8;
const ELCR_SLAVE_WRITABLE = 0xde;

export class I8259Pair {
  readonly master: I8259Chip;
  readonly slave: I8259Chip;
  /** The ELCR pair, as one BusDevice of two byte registers (offset 0: IRQ 0-7, offset 1: IRQ 8-15). */
  readonly elcr: BusDevice;
  /** Called when INTR, the master's INT output, changes. */
  onIntr: (level: boolean) => void;

  constructor(onIntr: (level: boolean) => void = () => {}) {
    this.onIntr = onIntr;
    this.master = new I8259Chip(true, (level) => this.onIntr(level));
    this.slave = new I8259Chip(false, (level) => this.master.setLine(CASCADE_LEVEL, level));
    this.elcr = new ElcrPorts(this.master, this.slave);
  }

  /** Sets ISA IRQ line `irq` (0-15) high or low. IRQ 2 is the cascade and is ignored. */
  setIrq(irq: number, level: boolean): void {
    if (!Number.isInteger(irq) || irq < 0 || irq >= PIC_IRQ_COUNT || irq === CASCADE_LEVEL) return;
    if (irq < LEVELS_PER_CHIP) this.master.setLine(irq, level);
    else this.slave.setLine(irq - LEVELS_PER_CHIP, level);
  }

  /** INTR: true while the master asks the CPU for an interrupt. */
  get intr(): boolean {
    return this.master.output;
  }

  hasInterrupt(): boolean {
    return this.master.output;
  }

  /**
   * The INTA cycle: the vector of the highest-priority request, now in service. If the request went away
   * since INTR rose (a level line dropped, or a mask write), the chip answers with its IR7 vector (IRQ 7 or,
   * through the cascade, IRQ 15) and sets no in-service bit on it: the spurious interrupt.
   */
  acknowledge(): number {
    const level = this.master.pendingLevel();
    if (level === NO_LEVEL) return this.master.vector(SPURIOUS_LEVEL);
    if (!(this.master.cascadeInputs & (1 << level))) {
      this.master.acknowledgeLevel(level);
      return this.master.vector(level);
    }
    // The slave's vector, with the master's IR2 in service too (the guest sends both an EOI).
    const slaveLevel = this.slave.pendingLevel();
    let vector = this.slave.vector(SPURIOUS_LEVEL);
    if (slaveLevel !== NO_LEVEL) {
      this.slave.acknowledgeLevel(slaveLevel);
      vector = this.slave.vector(slaveLevel);
    }
    this.master.acknowledgeLevel(level);
    return vector;
  }
}

class ElcrPorts implements BusDevice {
  constructor(
    private readonly master: I8259Chip,
    private readonly slave: I8259Chip,
  ) {}

  read(offset: number, data: Uint8Array): void {
    // A word access covers both registers.
    for (let i = 0; i < data.length; i++) {
      const register = offset + i;
      data[i] = register === 0 ? this.master.elcrBits : register === 1 ? this.slave.elcrBits : 0xff;
    }
  }

  write(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const value = data[i] as number;
      if (offset + i === 0) this.master.setElcr(value & ELCR_MASTER_WRITABLE);
      else if (offset + i === 1) this.slave.setElcr(value & ELCR_SLAVE_WRITABLE);
    }
  }
}
