// A 16550A UART as a pure state machine (National Semiconductor PC16550D datasheet). It knows nothing of
// ports, threads or terminals: bytes the guest transmits go to `output`, bytes for the guest arrive through
// `receive`, and the interrupt line is reported through `setIrq`.
import type { BusDevice } from "../../bus/io_bus.js";

// Register offsets from the base port.
const RBR_THR_DLL = 0;
const IER_DLM = 1;
/** The interrupt enable register's offset, for wiring that must act before a guest enables interrupts. */
export const UART_IER = IER_DLM;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;
export const UART_REGISTER_COUNT = 8;

// Interrupt Enable Register bits.
const IER_RDA = 0x01; // received data available
const IER_THRE = 0x02; // transmitter holding register empty
const IER_RLS = 0x04; // receiver line status
const IER_MASK = 0x0f;

// Interrupt Identification Register values (highest priority pending source).
const IIR_NONE = 0x01;
const IIR_RLS = 0x06;
const IIR_RDA = 0x04;
const IIR_THRE = 0x02;
const IIR_FIFO_ENABLED = 0xc0;

// FIFO Control Register bits.
const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;

// Line Control Register: divisor latch access bit.
const LCR_DLAB = 0x80;

// Modem Control Register bits.
const MCR_DTR = 0x01;
const MCR_RTS = 0x02;
const MCR_OUT1 = 0x04;
const MCR_OUT2 = 0x08;
const MCR_LOOP = 0x10;
const MCR_MASK = 0x1f;

// Line Status Register bits.
const LSR_DR = 0x01; // data ready
const LSR_OE = 0x02; // overrun error
const LSR_THRE = 0x20; // transmitter holding register empty
const LSR_TEMT = 0x40; // transmitter empty

// Modem Status Register bits.
const MSR_CTS = 0x10;
const MSR_DSR = 0x20;
const MSR_RI = 0x40;
const MSR_DCD = 0x80;
/** With no modem attached the lines read as a ready peer: clear to send, data set ready, carrier detect. */
const MSR_IDLE = MSR_CTS | MSR_DSR | MSR_DCD;

/** The receive FIFO holds 16 bytes in FIFO mode, one in 16450 mode. */
const FIFO_SIZE = 16;
/** Divisor for 9600 baud from the 1.8432 MHz clock, the value after reset. */
const DEFAULT_DIVISOR = 12;

export interface UartSnapshot {
  dll: number;
  dlm: number;
  ier: number;
  fcr: number;
  lcr: number;
  mcr: number;
  lsr: number;
  msr: number;
  scr: number;
  thrEmptyPending: boolean;
  rx: number[];
}

export class Uart16550 implements BusDevice {
  private dll = DEFAULT_DIVISOR;
  private dlm = 0;
  private ier = 0;
  private fcr = 0;
  private lcr = 0;
  private mcr = 0;
  private lsr = LSR_THRE | LSR_TEMT;
  private msr = MSR_IDLE;
  private scr = 0;
  /** The THRE interrupt is an event: raised when THR empties or is enabled, cleared by reading IIR or writing THR. */
  private thrEmptyPending = false;
  private rx: number[] = [];
  private irqLevel = false;

  constructor(
    private readonly output: (byte: number) => void,
    private readonly setIrq: (level: boolean) => void = () => {},
  ) {}

  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    if (data.length !== 1) return; // the UART has byte-wide registers only
    data[0] = this.readRegister(offset);
  }

  write(offset: number, data: Uint8Array): void {
    if (data.length !== 1) return;
    this.writeRegister(offset, data[0] as number);
  }

  /** Free space for input in the receive FIFO. */
  get rxSpace(): number {
    return this.fifoCapacity - this.rx.length;
  }

  /** Offers bytes to the receiver; returns how many it took (the rest must wait for space). */
  receive(bytes: Uint8Array): number {
    if (this.mcr & MCR_LOOP) return 0; // the receiver is wired to the transmitter in loopback
    const n = Math.min(bytes.length, this.rxSpace);
    for (let i = 0; i < n; i++) this.rx.push(bytes[i] as number);
    if (n > 0) {
      this.lsr |= LSR_DR;
      this.updateIrq();
    }
    return n;
  }

  private get fifoCapacity(): number {
    return this.fcr & FCR_ENABLE ? FIFO_SIZE : 1;
  }

  private get dlab(): boolean {
    return (this.lcr & LCR_DLAB) !== 0;
  }

  private readRegister(offset: number): number {
    switch (offset) {
      case RBR_THR_DLL:
        return this.dlab ? this.dll : this.readRbr();
      case IER_DLM:
        return this.dlab ? this.dlm : this.ier;
      case IIR_FCR:
        return this.readIir();
      case LCR:
        return this.lcr;
      case MCR:
        return this.mcr;
      case LSR: {
        const value = this.lsr;
        this.lsr &= ~LSR_OE; // error bits clear on read
        this.updateIrq();
        return value;
      }
      case MSR:
        return this.readMsr();
      case SCR:
        return this.scr;
      default:
        return 0xff;
    }
  }

  private writeRegister(offset: number, value: number): void {
    switch (offset) {
      case RBR_THR_DLL:
        if (this.dlab) this.dll = value;
        else this.writeThr(value);
        break;
      case IER_DLM:
        if (this.dlab) {
          this.dlm = value;
        } else {
          const enablingThre = !(this.ier & IER_THRE) && value & IER_THRE;
          this.ier = value & IER_MASK;
          if (enablingThre && this.lsr & LSR_THRE) this.thrEmptyPending = true;
          this.updateIrq();
        }
        break;
      case IIR_FCR:
        this.writeFcr(value);
        break;
      case LCR:
        this.lcr = value;
        break;
      case MCR:
        this.mcr = value & MCR_MASK;
        break;
      case SCR:
        this.scr = value;
        break;
      default:
        break; // LSR and MSR are read-only
    }
  }

  private readRbr(): number {
    const byte = this.rx.shift() ?? 0;
    if (this.rx.length === 0) this.lsr &= ~LSR_DR;
    this.updateIrq();
    return byte;
  }

  private writeThr(value: number): void {
    if (this.mcr & MCR_LOOP) {
      if (this.rx.length < this.fifoCapacity) this.rx.push(value);
      else this.lsr |= LSR_OE;
      this.lsr |= LSR_DR;
    } else {
      this.output(value);
    }
    // Transmission is instantaneous: THR is empty again at once.
    this.thrEmptyPending = true;
    this.updateIrq();
  }

  private writeFcr(value: number): void {
    const wasEnabled = this.fcr & FCR_ENABLE;
    this.fcr = value & ~(FCR_CLEAR_RX | 0x04); // the clear bits are self-clearing
    if (value & FCR_CLEAR_RX || (value & FCR_ENABLE) !== wasEnabled) {
      this.rx = [];
      this.lsr &= ~LSR_DR;
    }
    this.updateIrq();
  }

  private pendingSource(): number {
    if (this.ier & IER_RLS && this.lsr & LSR_OE) return IIR_RLS;
    if (this.ier & IER_RDA && this.lsr & LSR_DR) return IIR_RDA;
    if (this.ier & IER_THRE && this.thrEmptyPending) return IIR_THRE;
    return IIR_NONE;
  }

  private readIir(): number {
    const source = this.pendingSource();
    // Reading IIR acknowledges a THRE interrupt when it is the one reported.
    if (source === IIR_THRE) {
      this.thrEmptyPending = false;
      this.updateIrq();
    }
    return source | (this.fcr & FCR_ENABLE ? IIR_FIFO_ENABLED : 0);
  }

  private readMsr(): number {
    if (!(this.mcr & MCR_LOOP)) return this.msr;
    // Loopback wires the modem outputs to the inputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
    let value = 0;
    if (this.mcr & MCR_RTS) value |= MSR_CTS;
    if (this.mcr & MCR_DTR) value |= MSR_DSR;
    if (this.mcr & MCR_OUT1) value |= MSR_RI;
    if (this.mcr & MCR_OUT2) value |= MSR_DCD;
    return value;
  }

  private updateIrq(): void {
    const level = this.pendingSource() !== IIR_NONE;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.setIrq(level);
    }
  }

  snapshot(): UartSnapshot {
    const { dll, dlm, ier, fcr, lcr, mcr, lsr, msr, scr, thrEmptyPending } = this;
    return { dll, dlm, ier, fcr, lcr, mcr, lsr, msr, scr, thrEmptyPending, rx: [...this.rx] };
  }

  restore(s: UartSnapshot): void {
    Object.assign(this, { ...s, rx: [...s.rx] });
    this.updateIrq();
  }
}
