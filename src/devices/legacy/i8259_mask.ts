// A stand-in for one Intel 8259A PIC (datasheet 231468) until the in-kernel irqchip takes over. It delivers
// no interrupts, but answers the way guests expect while they program it: it follows the ICW1..ICW4
// initialisation sequence, keeps the interrupt mask (IMR), and reads IRR/ISR as empty. Two instances make
// the PC pair (master at 0x20, slave at 0xa0); the model only sees offset 0 (command) and 1 (data).
import type { BusDevice } from "../../bus/io_bus.js";

// Port offsets.
const COMMAND = 0;
const DATA = 1;

// ICW1 bits (a command-port write with bit 4 set).
const ICW1_IC4 = 0x01; // ICW4 follows
const ICW1_SNGL = 0x02; // single PIC: no ICW3
const ICW1_INIT = 0x10; // marks the write as ICW1

// OCW3 bits (a command-port write with bit 4 clear and bit 3 set; bit 3 clear makes it OCW2).
const OCW3_SELECT = 0x08;
const OCW3_RIS = 0x01; // with RR: read ISR rather than IRR
const OCW3_RR = 0x02; // read-register command
const OCW3_SMM = 0x20; // special mask mode, if ESMM
const OCW3_ESMM = 0x40; // enable changing special mask mode

// Where the data port is in the initialisation sequence.
const READY = 0; // data writes are OCW1
const EXPECT_ICW2 = 1;
const EXPECT_ICW3 = 2;
const EXPECT_ICW4 = 3;

/** ICW2's low three bits are the IRQ number within the vector block; the high five pick the block. */
const ICW2_VECTOR_MASK = 0xf8;

export interface I8259MaskSnapshot {
  step: number;
  icw1: number;
  icw2: number;
  icw3: number;
  icw4: number;
  imr: number;
  readIsr: boolean;
  specialMask: boolean;
}

export class I8259Mask implements BusDevice {
  private step = READY;
  private icw1 = 0;
  private icw2 = 0;
  private icw3 = 0;
  private icw4 = 0;
  /** Hardware leaves the IMR undefined at power-on; 0 (all unmasked) is what QEMU's reset gives, and ICW1 clears it too. */
  private imr = 0;
  /** OCW3's choice for command-port reads: ISR when true, IRR when false (the state after ICW1). */
  private readIsr = false;
  private specialMask = false;

  /** The interrupt mask: bit n set masks IRQ n of this PIC. */
  get mask(): number {
    return this.imr;
  }

  /** True once ICW1 has been followed by all the ICWs it asked for. */
  get initialised(): boolean {
    return this.icw1 !== 0 && this.step === READY;
  }

  /** The vector of IRQ 0 on this PIC, as ICW2 set it. */
  get vectorBase(): number {
    return this.icw2 & ICW2_VECTOR_MASK;
  }

  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    if (data.length !== 1) return; // byte-wide registers only
    // Command port: IRR or ISR as OCW3 chose, both always empty since nothing is ever raised or in
    // service; a poll command (OCW3 bit 2) likewise reads 0, "no interrupt". Data port: the IMR, also
    // in the middle of an initialisation sequence.
    if (offset === DATA) data[0] = this.imr;
  }

  write(offset: number, data: Uint8Array): void {
    if (data.length !== 1) return;
    const value = data[0] as number;
    if (offset === COMMAND) this.writeCommand(value);
    else if (offset === DATA) this.writeData(value);
  }

  private writeCommand(value: number): void {
    if (value & ICW1_INIT) {
      // ICW1 restarts initialisation: it clears the mask and special mask mode, selects IRR for reads,
      // and zeroes the ICW4 functions in case no ICW4 follows.
      this.icw1 = value;
      this.icw4 = 0;
      this.imr = 0;
      this.readIsr = false;
      this.specialMask = false;
      this.step = EXPECT_ICW2;
    } else if (value & OCW3_SELECT) {
      if (value & OCW3_RR) this.readIsr = (value & OCW3_RIS) !== 0;
      if (value & OCW3_ESMM) this.specialMask = (value & OCW3_SMM) !== 0;
    }
    // OCW2 (EOI, rotation, priority) has nothing to act on: no interrupt is ever in service.
  }

  private writeData(value: number): void {
    switch (this.step) {
      case EXPECT_ICW2:
        this.icw2 = value;
        this.step = this.icw1 & ICW1_SNGL ? this.afterIcw3() : EXPECT_ICW3;
        break;
      case EXPECT_ICW3:
        this.icw3 = value; // master: which inputs have slaves; slave: its cascade identity
        this.step = this.afterIcw3();
        break;
      case EXPECT_ICW4:
        this.icw4 = value;
        this.step = READY;
        break;
      default:
        // OCW1. Before any ICW1 QEMU takes it as a mask write too, and so do we.
        this.imr = value;
        break;
    }
  }

  private afterIcw3(): number {
    return this.icw1 & ICW1_IC4 ? EXPECT_ICW4 : READY;
  }

  snapshot(): I8259MaskSnapshot {
    const { step, icw1, icw2, icw3, icw4, imr, readIsr, specialMask } = this;
    return { step, icw1, icw2, icw3, icw4, imr, readIsr, specialMask };
  }

  restore(s: I8259MaskSnapshot): void {
    this.step = s.step === EXPECT_ICW2 || s.step === EXPECT_ICW3 || s.step === EXPECT_ICW4 ? s.step : READY;
    this.icw1 = s.icw1 & 0xff;
    this.icw2 = s.icw2 & 0xff;
    this.icw3 = s.icw3 & 0xff;
    this.icw4 = s.icw4 & 0xff;
    this.imr = s.imr & 0xff;
    this.readIsr = s.readIsr;
    this.specialMask = s.specialMask;
  }
}
