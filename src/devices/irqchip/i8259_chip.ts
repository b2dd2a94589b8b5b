// One Intel 8259A programmable interrupt controller (datasheet 231468) as a state machine: input lines in
// through `setLine`, the command and data ports through the BusDevice interface (offsets 0 and 1), the INT
// output through a callback, and the INTA cycle split in two (`pendingLevel`, then `acknowledgeLevel`) so
// that the pair can put the slave's vector on the bus in between. Priorities rotate as QEMU's hw/intc/i8259.c
// keeps them: `priorityBase` is the level that currently has the highest priority.
import type { BusDevice } from "../../bus/io_bus.js";

// Port offsets (0x20/0x21 on the master, 0xa0/0xa1 on the slave).
const COMMAND = 0;
const DATA = 1;

// ICW1: a command-port write with bit 4 set.
const ICW1_IC4 = 0x01; // ICW4 follows
const ICW1_SNGL = 0x02; // single PIC: no ICW3
const ICW1_LTIM = 0x08; // every input level-triggered
const ICW1_INIT = 0x10;
/** ICW2 in 8086 mode: the vector of IR0; the low three bits are the level. */
const ICW2_VECTOR_MASK = 0xf8;
// ICW4 (its 8086 bit is not looked at: x86 guests have no use for the MCS-80/85 CALL sequence).
const ICW4_AEOI = 0x02;
const ICW4_SFNM = 0x10; // special fully nested mode

// OCW3: a command-port write with bit 4 clear and bit 3 set; bit 3 clear makes it OCW2.
const OCW3_SELECT = 0x08;
const OCW3_RIS = 0x01; // with RR: read ISR rather than IRR
const OCW3_RR = 0x02;
const OCW3_POLL = 0x04;
const OCW3_SMM = 0x20; // with ESMM: the special mask mode's new state
const OCW3_ESMM = 0x40;

// OCW2: bits 7-5 are the command (R, SL, EOI), bits 2-0 a level for the specific ones.
const OCW2_COMMAND_SHIFT = 5;
const OCW2_ROTATE_AEOI_CLEAR = 0;
const OCW2_EOI = 1;
const OCW2_SPECIFIC_EOI = 3;
const OCW2_ROTATE_AEOI_SET = 4;
const OCW2_ROTATE_EOI = 5;
const OCW2_SET_PRIORITY = 6;
const OCW2_ROTATE_SPECIFIC_EOI = 7;

const LEVEL_MASK = 0x07;
const LEVELS = 8;
const ALL_LEVELS = 0xff;
/** Returned by pendingLevel when nothing may interrupt. */
export const NO_LEVEL = -1;
/** The level a spurious INTA reports: with no request left the 8259A answers with IR7's vector. */
export const SPURIOUS_LEVEL = 7;
/** A poll read's bit 7: an interrupt was pending (and is now acknowledged). */
const POLL_INTERRUPT = 0x80;

// Where the data port is in the initialisation sequence.
const READY = 0; // data writes are OCW1
const EXPECT_ICW2 = 1;
const EXPECT_ICW3 = 2;
const EXPECT_ICW4 = 3;

export class I8259Chip implements BusDevice {
  /** The input lines as last set: edge detection compares against them. */
  private lines = 0;
  private irrBits = 0;
  private isrBits = 0;
  /** 0 after reset and after ICW1 (QEMU's choice; the datasheet leaves power-on undefined). */
  private imrBits = 0;
  /** Lines the ELCR makes level-triggered; ICW1.LTIM makes them all so. */
  private elcr = 0;
  private ltim = false;
  private priorityBase = 0;
  private vectorBase = 0;
  private single = false;
  private needIcw4 = false;
  /** ICW3: on a master, the inputs that have slaves; on a slave, its cascade identity. */
  private icw3 = 0;
  private step = READY;
  private readIsr = false;
  private pollNext = false;
  private specialMask = false;
  private autoEoi = false;
  private rotateOnAutoEoi = false;
  private specialFullyNested = false;
  private out = false;

  /**
   * @param master whether this chip is the master (for the cascade inputs in special fully nested mode)
   * @param onOutput called when the INT output changes
   */
  constructor(
    private readonly master: boolean,
    private readonly onOutput: (level: boolean) => void,
  ) {
    // The PC wires the slave to the master's IR2; firmware programs that, and the default assumes it.
    if (master) this.icw3 = 1 << 2;
  }

  get irr(): number {
    return this.irrBits;
  }

  get isr(): number {
    return this.isrBits;
  }

  get imr(): number {
    return this.imrBits;
  }

  /** The INT output. */
  get output(): boolean {
    return this.out;
  }

  /** On a master, the inputs that ICW3 says have slaves; none in single mode. */
  get cascadeInputs(): number {
    return this.master && !this.single ? this.icw3 : 0;
  }

  /** The vector this chip puts on the bus for a level. */
  vector(level: number): number {
    return this.vectorBase | level;
  }

  setLine(level: number, high: boolean): void {
    const bit = 1 << level;
    const was = (this.lines & bit) !== 0;
    this.lines = high ? this.lines | bit : this.lines & ~bit;
    // Level-triggered: the request is the line. Edge-triggered: a rising edge latches it, and it stays latched
    // when the line falls (as in QEMU and KVM: VMM devices pulse their lines), until INTA or ICW1.
    if (this.levelTriggered & bit) this.irrBits = high ? this.irrBits | bit : this.irrBits & ~bit;
    else if (high && !was) this.irrBits |= bit;
    this.update();
  }

  /** The ELCR's bits for this chip. Lines made level-triggered request while they are high. */
  setElcr(value: number): void {
    this.elcr = value & ALL_LEVELS;
    this.irrBits = (this.irrBits & ~this.levelTriggered) | (this.lines & this.levelTriggered);
    this.update();
  }

  get elcrBits(): number {
    return this.elcr;
  }

  /** The level that would interrupt now, or NO_LEVEL: the first INTA pulse's decision. */
  pendingLevel(): number {
    const request = this.highestPriority(this.irrBits & ~this.imrBits);
    if (request === LEVELS) return NO_LEVEL;
    let inService = this.isrBits;
    // Special mask mode: a masked level in service no longer holds off lower ones.
    if (this.specialMask) inService &= ~this.imrBits;
    // Special fully nested mode: a slave in service does not hold off that slave's higher requests.
    if (this.specialFullyNested) inService &= ~this.cascadeInputs;
    return request < this.highestPriority(inService) ? (request + this.priorityBase) & LEVEL_MASK : NO_LEVEL;
  }

  /** The INTA cycle for `level` (from pendingLevel): in service unless auto-EOI; an edge request is consumed. */
  acknowledgeLevel(level: number): void {
    const bit = 1 << level;
    if (!this.autoEoi) this.isrBits |= bit;
    else if (this.rotateOnAutoEoi) this.priorityBase = (level + 1) & LEVEL_MASK;
    if (!(this.levelTriggered & bit)) this.irrBits &= ~bit;
    this.update();
  }

  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    if (data.length !== 1) return; // byte-wide registers only
    if (this.pollNext) {
      // Poll mode: this read is the acknowledge, on either port.
      this.pollNext = false;
      const level = this.pendingLevel();
      if (level === NO_LEVEL) return;
      this.acknowledgeLevel(level);
      data[0] = POLL_INTERRUPT | level;
    } else if (offset === COMMAND) {
      data[0] = this.readIsr ? this.isrBits : this.irrBits;
    } else if (offset === DATA) {
      data[0] = this.imrBits; // also in the middle of an initialisation sequence
    }
  }

  write(offset: number, data: Uint8Array): void {
    if (data.length !== 1) return;
    const value = data[0] as number;
    if (offset === COMMAND) {
      if (value & ICW1_INIT) this.writeIcw1(value);
      else if (value & OCW3_SELECT) this.writeOcw3(value);
      else this.writeOcw2(value);
    } else if (offset === DATA) {
      this.writeData(value);
    }
  }

  private get levelTriggered(): number {
    return this.ltim ? ALL_LEVELS : this.elcr;
  }

  /** 0 for the highest-priority level set in `mask`, 7 for the lowest; LEVELS when none is set. */
  private highestPriority(mask: number): number {
    if (mask === 0) return LEVELS;
    let priority = 0;
    while (!(mask & (1 << ((priority + this.priorityBase) & LEVEL_MASK)))) priority++;
    return priority;
  }

  private update(): void {
    const out = this.pendingLevel() !== NO_LEVEL;
    if (out === this.out) return;
    this.out = out;
    this.onOutput(out);
  }

  /**
   * ICW1 starts initialisation: it clears the mask, the in-service bits and special mask mode, makes IR7
   * the lowest priority, selects IRR for reads, clears the ICW4 functions in case no ICW4 follows, and resets
   * the edge sense: an edge-triggered line must rise again to request.
   */
  private writeIcw1(value: number): void {
    this.ltim = (value & ICW1_LTIM) !== 0;
    this.single = (value & ICW1_SNGL) !== 0;
    this.needIcw4 = (value & ICW1_IC4) !== 0;
    this.irrBits = this.lines & this.levelTriggered;
    this.isrBits = 0;
    this.imrBits = 0;
    this.priorityBase = 0;
    this.readIsr = false;
    this.pollNext = false;
    this.specialMask = false;
    this.autoEoi = false;
    this.rotateOnAutoEoi = false;
    this.specialFullyNested = false;
    this.step = EXPECT_ICW2;
    this.update();
  }

  private writeData(value: number): void {
    switch (this.step) {
      case EXPECT_ICW2:
        this.vectorBase = value & ICW2_VECTOR_MASK;
        this.step = this.single ? this.afterIcw3() : EXPECT_ICW3;
        break;
      case EXPECT_ICW3:
        this.icw3 = value;
        this.step = this.afterIcw3();
        break;
      case EXPECT_ICW4:
        this.autoEoi = (value & ICW4_AEOI) !== 0;
        this.specialFullyNested = (value & ICW4_SFNM) !== 0;
        this.step = READY;
        this.update();
        break;
      default:
        this.imrBits = value; // OCW1
        this.update();
        break;
    }
  }

  private afterIcw3(): number {
    return this.needIcw4 ? EXPECT_ICW4 : READY;
  }

  private writeOcw2(value: number): void {
    const level = value & LEVEL_MASK;
    switch (value >> OCW2_COMMAND_SHIFT) {
      case OCW2_ROTATE_AEOI_CLEAR:
      case OCW2_ROTATE_AEOI_SET:
        this.rotateOnAutoEoi = value >> OCW2_COMMAND_SHIFT === OCW2_ROTATE_AEOI_SET;
        break;
      case OCW2_EOI:
      case OCW2_ROTATE_EOI: {
        // Non-specific: the highest level in service. In special mask mode a masked one is not cleared.
        const inService = this.specialMask ? this.isrBits & ~this.imrBits : this.isrBits;
        const priority = this.highestPriority(inService);
        if (priority === LEVELS) break;
        const highest = (priority + this.priorityBase) & LEVEL_MASK;
        this.isrBits &= ~(1 << highest);
        if (value >> OCW2_COMMAND_SHIFT === OCW2_ROTATE_EOI) this.priorityBase = (highest + 1) & LEVEL_MASK;
        break;
      }
      case OCW2_SPECIFIC_EOI:
        this.isrBits &= ~(1 << level);
        break;
      case OCW2_SET_PRIORITY:
        this.priorityBase = (level + 1) & LEVEL_MASK; // `level` becomes the lowest priority
        break;
      case OCW2_ROTATE_SPECIFIC_EOI:
        this.isrBits &= ~(1 << level);
        this.priorityBase = (level + 1) & LEVEL_MASK;
        break;
      default:
        break; // 2: no operation
    }
    this.update();
  }

  private writeOcw3(value: number): void {
    if (value & OCW3_POLL) this.pollNext = true;
    if (value & OCW3_RR) this.readIsr = (value & OCW3_RIS) !== 0;
    if (value & OCW3_ESMM) this.specialMask = (value & OCW3_SMM) !== 0;
    this.update();
  }
}
