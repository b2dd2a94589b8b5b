// The PC's keyboard controller, an Intel 8042 running IBM's PS/2 firmware, with a keyboard behind it that
// answers commands but has no keys yet, and no mouse. Enough for Linux's i8042 and atkbd probes and for the
// controller's other job on a PC: resetting the CPU. Registered on the ports 0x60-0x64, it answers only at
// offset 0 (data) and 4 (status/command); the ports in between belong to other chips and read 0 here.
// Commands complete at once, so the input buffer is never full.
import type { BusDevice } from "../../bus/io_bus.js";

// Port offsets from 0x60.
const DATA = 0;
const STATUS_COMMAND = 4;

// Status register bits.
const STATUS_OBF = 0x01; // output buffer full: the data port has a byte for the guest
// Bit 1, IBF (input buffer full), is never set.
const STATUS_SYS = 0x04; // system flag, from the command byte: set once self test has passed
const STATUS_CMD = 0x08; // the last write went to the command port, not the data port
const STATUS_UNLOCKED = 0x10; // keyboard not inhibited by the keylock switch
const STATUS_AUX_OBF = 0x20; // the byte in the output buffer came from the aux (mouse) port

// Command byte (controller RAM byte 0) bits.
const CTR_KBDINT = 0x01; // IRQ 1 when keyboard data is in the output buffer
const CTR_AUXINT = 0x02; // IRQ 12 when aux data is
const CTR_SYS = 0x04; // the system flag shown in the status register
const CTR_KBDDIS = 0x10; // keyboard interface disabled
const CTR_AUXDIS = 0x20; // aux interface disabled
const CTR_XLATE = 0x40; // translate keyboard bytes from scan code set 2 to set 1
/** What a PC BIOS leaves behind: translation, the system flag (POST passed), keyboard interrupts. */
const CTR_DEFAULT = CTR_XLATE | CTR_SYS | CTR_KBDINT;

// Controller commands (written to the command port).
const CMD_READ_CTR = 0x20;
const CMD_WRITE_CTR = 0x60; // the command byte follows on the data port
const CMD_AUX_DISABLE = 0xa7;
const CMD_AUX_ENABLE = 0xa8;
const CMD_AUX_TEST = 0xa9;
const CMD_SELF_TEST = 0xaa;
const CMD_KBD_TEST = 0xab;
const CMD_KBD_DISABLE = 0xad;
const CMD_KBD_ENABLE = 0xae;
const CMD_READ_OUTPORT = 0xd0;
const CMD_WRITE_OUTPORT = 0xd1; // the output port value follows
const CMD_WRITE_KBD_OBUF = 0xd2; // a byte follows, to be read back as if the keyboard sent it
const CMD_WRITE_AUX_OBUF = 0xd3; // a byte follows, to be read back as if the mouse sent it
const CMD_WRITE_AUX = 0xd4; // a byte follows, for the aux device
/** 0xf0-0xff pulse the output port bits 0-3 whose command bits are clear; 0xfe pulses only bit 0, reset. */
const CMD_PULSE_OUTPORT = 0xf0;
/** Commands that take their argument from the next data-port write. */
const COMMANDS_WITH_DATA: readonly number[] = [
  CMD_WRITE_CTR,
  CMD_WRITE_OUTPORT,
  CMD_WRITE_KBD_OBUF,
  CMD_WRITE_AUX_OBUF,
  CMD_WRITE_AUX,
];
const NO_COMMAND = 0;

const SELF_TEST_PASSED = 0x55;
const INTERFACE_TEST_PASSED = 0x00;

// Output port bits.
const OUTPORT_RESET = 0x01; // the CPU reset line, active low
const OUTPORT_A20 = 0x02; // the A20 gate
const OUTPORT_KBD_OBF = 0x10; // IRQ 1 line: keyboard data in the output buffer
const OUTPORT_AUX_OBF = 0x20; // IRQ 12 line: aux data in the output buffer
/** Reset released, A20 on; the undefined bits and the idle keyboard clock and data lines read 1, as in QEMU. */
const OUTPORT_DEFAULT = 0xcc | OUTPORT_A20 | OUTPORT_RESET;

// Keyboard commands (data-port writes with no controller command pending).
const KBD_SET_LEDS = 0xed; // an LED byte follows
const KBD_ECHO = 0xee;
const KBD_SCAN_CODE_SET = 0xf0; // 1-3 to select, 0 to ask, follows
const KBD_IDENTIFY = 0xf2;
const KBD_SET_TYPEMATIC = 0xf3; // a rate and delay byte follows
const KBD_ENABLE = 0xf4;
const KBD_DISABLE = 0xf5; // also restores the defaults
const KBD_SET_DEFAULTS = 0xf6;
const KBD_RESET = 0xff;
/** Scan code set 3 key-type commands: acknowledged and ignored. */
const KBD_SET3_FIRST = 0xf7;
const KBD_SET3_LAST = 0xfa;
const KBD_COMMANDS_WITH_PARAMETER: readonly number[] = [KBD_SET_LEDS, KBD_SCAN_CODE_SET, KBD_SET_TYPEMATIC];

// Keyboard replies.
const KBD_ACK = 0xfa;
const KBD_RESEND = 0xfe; // the reply to a command the keyboard does not know
const KBD_BAT_PASSED = 0xaa; // basic assurance test, after reset
/** An MF2 keyboard's identity. */
const KBD_ID = [0xab, 0x83];
const DEFAULT_SCAN_CODE_SET = 2;

/** The keyboard's own buffer: bytes it could not send yet because the controller's output buffer was full. */
const KBD_QUEUE_SIZE = 16;

/**
 * With CTR_XLATE the controller turns set 2 codes into set 1 on their way to the guest. The table holds the
 * entries for the bytes this keyboard can send (set numbers and the second ID byte); all the others pass
 * unchanged. Key input will need the whole table.
 */
const XLATE: ReadonlyMap<number, number> = new Map([
  [0x01, 0x43],
  [0x02, 0x41],
  [0x03, 0x3f],
  [0x83, 0x41],
]);

export type I8042IrqLine = 1 | 12;

export interface I8042Snapshot {
  commandByte: number;
  outputPort: number;
  pendingCommand: number;
  lastWriteWasCommand: boolean;
  outputByte: number;
  outputFull: boolean;
  outputAux: boolean;
  reply: { byte: number; aux: boolean } | null;
  kbdQueue: number[];
  kbdPendingCommand: number;
  scanCodeSet: number;
  leds: number;
  scanning: boolean;
}

export class I8042 implements BusDevice {
  private commandByte = CTR_DEFAULT;
  private outputPort = OUTPORT_DEFAULT;
  /** A controller command waiting for its data byte, or NO_COMMAND. */
  private pendingCommand = NO_COMMAND;
  private lastWriteWasCommand = true;
  /** The output buffer: one byte. It keeps its value once read, so reading it again gives the same byte. */
  private outputByte = 0;
  private outputFull = false;
  private outputAux = false;
  /** A controller reply not yet in the output buffer; it goes before keyboard data. */
  private reply: { byte: number; aux: boolean } | null = null;
  private kbdQueue: number[] = [];
  /** A keyboard command waiting for its parameter byte, or NO_COMMAND. */
  private kbdPendingCommand = NO_COMMAND;
  private scanCodeSet = DEFAULT_SCAN_CODE_SET;
  private leds = 0;
  private scanning = true;
  private irq1 = false;
  private irq12 = false;

  /**
   * `onReset` is called when the guest resets the CPU through the controller (command 0xfe or any pulse of
   * output port bit 0, or an output port write with bit 0 clear). `setIrq` follows the output buffer when
   * the command byte enables the line's interrupt.
   */
  constructor(
    private readonly onReset: () => void,
    private readonly setIrq: (line: I8042IrqLine, level: boolean) => void = () => {},
  ) {}

  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    if (data.length !== 1) return; // byte-wide registers only
    if (offset === DATA) data[0] = this.readData();
    else if (offset === STATUS_COMMAND) data[0] = this.status();
  }

  write(offset: number, data: Uint8Array): void {
    if (data.length !== 1) return;
    const value = data[0] as number;
    if (offset === DATA) this.writeData(value);
    else if (offset === STATUS_COMMAND) this.writeCommand(value);
  }

  private status(): number {
    let status = STATUS_UNLOCKED;
    if (this.outputFull) status |= STATUS_OBF | (this.outputAux ? STATUS_AUX_OBF : 0);
    if (this.commandByte & CTR_SYS) status |= STATUS_SYS;
    if (this.lastWriteWasCommand) status |= STATUS_CMD;
    return status;
  }

  private readData(): number {
    const byte = this.outputByte;
    this.outputFull = false;
    this.outputAux = false;
    this.refill();
    return byte;
  }

  private writeCommand(command: number): void {
    this.lastWriteWasCommand = true;
    this.pendingCommand = NO_COMMAND; // a new command abandons one still waiting for its data
    if (COMMANDS_WITH_DATA.includes(command)) {
      this.pendingCommand = command;
      return;
    }
    switch (command) {
      case CMD_READ_CTR:
        this.controllerReply(this.commandByte);
        break;
      case CMD_AUX_DISABLE:
        this.commandByte |= CTR_AUXDIS;
        break;
      case CMD_AUX_ENABLE:
        this.commandByte &= ~CTR_AUXDIS;
        break;
      case CMD_AUX_TEST:
      case CMD_KBD_TEST:
        this.controllerReply(INTERFACE_TEST_PASSED);
        break;
      case CMD_SELF_TEST:
        this.commandByte |= CTR_SYS;
        this.controllerReply(SELF_TEST_PASSED);
        break;
      case CMD_KBD_DISABLE:
        this.commandByte |= CTR_KBDDIS;
        break;
      case CMD_KBD_ENABLE:
        this.commandByte &= ~CTR_KBDDIS;
        this.refill();
        break;
      case CMD_READ_OUTPORT:
        this.controllerReply(this.readOutputPort());
        break;
      default:
        if (command >= CMD_PULSE_OUTPORT && !(command & OUTPORT_RESET)) this.onReset();
        break; // other commands (controller RAM, input port, passwords) are not implemented: ignored
    }
  }

  private writeData(value: number): void {
    this.lastWriteWasCommand = false;
    const command = this.pendingCommand;
    this.pendingCommand = NO_COMMAND;
    switch (command) {
      case CMD_WRITE_CTR:
        this.commandByte = value;
        this.refill(); // may have enabled the keyboard or its interrupt
        break;
      case CMD_WRITE_OUTPORT:
        this.outputPort = value;
        if (!(value & OUTPORT_RESET)) this.onReset();
        break;
      case CMD_WRITE_KBD_OBUF:
        this.controllerReply(value);
        break;
      case CMD_WRITE_AUX_OBUF:
        this.controllerReply(value, true);
        break;
      case CMD_WRITE_AUX:
        break; // no mouse: the byte is lost and nothing answers
      default:
        // To the keyboard. Sending it a byte enables the keyboard interface again, as on real controllers.
        this.commandByte &= ~CTR_KBDDIS;
        this.keyboardWrite(value);
        this.refill();
        break;
    }
  }

  private readOutputPort(): number {
    let value = this.outputPort & ~(OUTPORT_KBD_OBF | OUTPORT_AUX_OBF);
    if (this.outputFull) value |= this.outputAux ? OUTPORT_AUX_OBF : OUTPORT_KBD_OBF;
    return value;
  }

  private controllerReply(byte: number, aux = false): void {
    this.reply = { byte, aux }; // a second reply before the first was delivered replaces it, as in QEMU
    this.refill();
  }

  /** Moves the next byte into an empty output buffer: a controller reply first, then keyboard data. */
  private refill(): void {
    if (!this.outputFull) {
      if (this.reply) {
        this.outputByte = this.reply.byte;
        this.outputAux = this.reply.aux;
        this.outputFull = true;
        this.reply = null;
      } else if (!(this.commandByte & CTR_KBDDIS) && this.kbdQueue.length > 0) {
        const byte = this.kbdQueue.shift() as number;
        this.outputByte = this.commandByte & CTR_XLATE ? (XLATE.get(byte) ?? byte) : byte;
        this.outputAux = false;
        this.outputFull = true;
      }
    }
    this.updateIrq();
  }

  private updateIrq(): void {
    const irq1 = this.outputFull && !this.outputAux && (this.commandByte & CTR_KBDINT) !== 0;
    const irq12 = this.outputFull && this.outputAux && (this.commandByte & CTR_AUXINT) !== 0;
    if (irq1 !== this.irq1) {
      this.irq1 = irq1;
      this.setIrq(1, irq1);
    }
    if (irq12 !== this.irq12) {
      this.irq12 = irq12;
      this.setIrq(12, irq12);
    }
  }

  // The keyboard: a PS/2 MF2 keyboard that answers commands. It has no keys yet.

  private keyboardWrite(value: number): void {
    const command = this.kbdPendingCommand;
    if (command !== NO_COMMAND) {
      this.kbdPendingCommand = NO_COMMAND;
      this.keyboardParameter(command, value);
      return;
    }
    if (KBD_COMMANDS_WITH_PARAMETER.includes(value)) {
      this.kbdPendingCommand = value;
      this.kbdSend(KBD_ACK);
      return;
    }
    switch (value) {
      case KBD_RESET:
        this.kbdQueue = []; // a reset drops whatever the keyboard had not sent yet
        this.keyboardDefaults();
        this.kbdSend(KBD_ACK, KBD_BAT_PASSED);
        break;
      case KBD_IDENTIFY:
        this.kbdSend(KBD_ACK, ...KBD_ID);
        break;
      case KBD_ECHO:
        this.kbdSend(KBD_ECHO);
        break;
      case KBD_ENABLE:
        this.scanning = true;
        this.kbdSend(KBD_ACK);
        break;
      case KBD_DISABLE:
        this.keyboardDefaults();
        this.scanning = false;
        this.kbdSend(KBD_ACK);
        break;
      case KBD_SET_DEFAULTS:
        this.keyboardDefaults();
        this.kbdSend(KBD_ACK);
        break;
      default:
        this.kbdSend(value >= KBD_SET3_FIRST && value <= KBD_SET3_LAST ? KBD_ACK : KBD_RESEND);
        break;
    }
  }

  private keyboardParameter(command: number, value: number): void {
    if (command === KBD_SET_LEDS) {
      this.leds = value & 0x07; // scroll, num and caps lock
    } else if (command === KBD_SCAN_CODE_SET && value === 0) {
      this.kbdSend(KBD_ACK, this.scanCodeSet);
      return;
    } else if (command === KBD_SCAN_CODE_SET && value >= 1 && value <= 3) {
      this.scanCodeSet = value;
    }
    // Typematic rate and delay, and set numbers out of range, are acknowledged and ignored.
    this.kbdSend(KBD_ACK);
  }

  private keyboardDefaults(): void {
    this.kbdPendingCommand = NO_COMMAND;
    this.scanCodeSet = DEFAULT_SCAN_CODE_SET;
    this.leds = 0;
    this.scanning = true;
  }

  /** Queues keyboard bytes for the guest; what does not fit in the keyboard's buffer is lost, as in QEMU. */
  private kbdSend(...bytes: number[]): void {
    for (const byte of bytes) if (this.kbdQueue.length < KBD_QUEUE_SIZE) this.kbdQueue.push(byte);
  }

  snapshot(): I8042Snapshot {
    return {
      commandByte: this.commandByte,
      outputPort: this.outputPort,
      pendingCommand: this.pendingCommand,
      lastWriteWasCommand: this.lastWriteWasCommand,
      outputByte: this.outputByte,
      outputFull: this.outputFull,
      outputAux: this.outputAux,
      reply: this.reply && { ...this.reply },
      kbdQueue: [...this.kbdQueue],
      kbdPendingCommand: this.kbdPendingCommand,
      scanCodeSet: this.scanCodeSet,
      leds: this.leds,
      scanning: this.scanning,
    };
  }

  restore(s: I8042Snapshot): void {
    this.commandByte = s.commandByte & 0xff;
    this.outputPort = s.outputPort & 0xff;
    this.pendingCommand = COMMANDS_WITH_DATA.includes(s.pendingCommand) ? s.pendingCommand : NO_COMMAND;
    this.lastWriteWasCommand = s.lastWriteWasCommand === true;
    this.outputByte = s.outputByte & 0xff;
    this.outputFull = s.outputFull === true;
    this.outputAux = this.outputFull && s.outputAux === true;
    this.reply = s.reply ? { byte: s.reply.byte & 0xff, aux: s.reply.aux === true } : null;
    this.kbdQueue = s.kbdQueue.slice(0, KBD_QUEUE_SIZE).map((b) => b & 0xff);
    this.kbdPendingCommand = KBD_COMMANDS_WITH_PARAMETER.includes(s.kbdPendingCommand)
      ? s.kbdPendingCommand
      : NO_COMMAND;
    this.scanCodeSet = s.scanCodeSet >= 1 && s.scanCodeSet <= 3 ? s.scanCodeSet : DEFAULT_SCAN_CODE_SET;
    this.leds = s.leds & 0x07;
    this.scanning = s.scanning === true;
    this.refill();
  }
}
