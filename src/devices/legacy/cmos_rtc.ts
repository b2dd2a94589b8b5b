// The PC's real-time clock and CMOS RAM, a Motorola MC146818A (datasheet) behind two ports: the guest
// writes a register index to the first (bit 7 of that byte gates NMI on a PC, not the RTC), then reads or
// writes the register through the second. The clock is the injected `now()`, read as UTC when the guest
// reads a time register; a guest that sets the time moves an offset from that clock, it never changes it.
// No interrupts yet: periodic, alarm and update-ended flags never rise.
import type { BusDevice } from "../../bus/io_bus.js";

// Port offsets (0x70 and 0x71 on a PC).
const INDEX = 0; // write-only
const DATA = 1;

/** 128 bytes of RAM, time and status registers included. */
export const CMOS_SIZE = 128;
const INDEX_MASK = 0x7f;
/** Bit 7 of an index write: the PC's NMI mask, a latch beside the chip. */
const INDEX_NMI_DISABLE = 0x80;

// Time registers.
const RTC_SECONDS = 0x00;
const RTC_MINUTES = 0x02;
const RTC_HOURS = 0x04;
const RTC_DAY_OF_WEEK = 0x06; // 1 = Sunday
const RTC_DAY_OF_MONTH = 0x07;
const RTC_MONTH = 0x08;
const RTC_YEAR = 0x09; // two digits
/** Not an MC146818 register: the IBM PC/AT puts the century in RAM here, and firmware and Linux read it. */
const RTC_CENTURY = 0x32;
const TIME_REGISTERS: readonly number[] = [
  RTC_SECONDS,
  RTC_MINUTES,
  RTC_HOURS,
  RTC_DAY_OF_WEEK,
  RTC_DAY_OF_MONTH,
  RTC_MONTH,
  RTC_YEAR,
  RTC_CENTURY,
];
// 0x01, 0x03 and 0x05 are the alarm seconds, minutes and hours: plain RAM while there are no interrupts.

// Status registers.
const RTC_REG_A = 0x0a;
const RTC_REG_B = 0x0b;
const RTC_REG_C = 0x0c;
const RTC_REG_D = 0x0d;

/** Register A bit 7, update in progress. Updates are instantaneous here, so it always reads 0. */
const REG_A_UIP = 0x80;
/** Divider 010 (32.768 kHz time base) and rate 0110 (1024 Hz): what every PC BIOS programs. */
const REG_A_DEFAULT = 0x26;

const REG_B_24H = 0x02; // hours 0-23; when clear, 1-12 with bit 7 for PM
const REG_B_DM = 0x04; // data mode: binary; when clear, BCD
const REG_B_SET = 0x80; // the guest is setting the time: updates stop and the registers hold still
const REG_B_DEFAULT = REG_B_24H;

const HOURS_PM = 0x80;
/** Register D bit 7, valid RAM and time: the battery is never flat. */
const REG_D_VRT = 0x80;

/** The shutdown status byte: the BIOS reads it after a CPU reset to learn why it happened (plain RAM here). */
export const CMOS_SHUTDOWN_STATUS = 0x0f;

// Memory sizes, as the IBM PC/AT BIOS and its successors store them and firmware and Linux read them.
const CMOS_BASE_MEMORY = 0x15; // u16 KiB below 1 MiB
const CMOS_EXTENDED_MEMORY = 0x17; // u16 KiB from 1 MiB up
const CMOS_EXTENDED_MEMORY_POST = 0x30; // u16 the same, as POST found it
const CMOS_MEMORY_ABOVE_16M = 0x34; // u16 64 KiB units from 16 MiB up to the 32-bit hole
const CMOS_MEMORY_ABOVE_4G = 0x5b; // u24 64 KiB units from 4 GiB up (a QEMU/SeaBIOS extension)

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;
/** Conventional memory, always reported whole: the EBDA and the VGA hole are the firmware's business. */
const BASE_MEMORY_KIB = 640;
const UNIT_64K = 64 * KIB;
/** RAM below 4 GiB ends where the 32-bit PCI/MMIO hole starts; the rest is mapped from 4 GiB up. */
const DEFAULT_LOW_RAM_LIMIT = 3 * GIB;

export interface CmosRtcConfig {
  /** Guest RAM in bytes. */
  ramSize: number;
  /** How much of it sits below 4 GiB (default 3 GiB, the start of the PC's 32-bit hole). */
  lowRamLimit?: number;
  /** The wall clock, read as UTC. */
  now?: () => Date;
}

export interface CmosRtcSnapshot {
  ram: number[];
  index: number;
  nmiDisabled: boolean;
  /** Guest time minus host time, in milliseconds. */
  offsetMs: number;
  /** Time registers the guest wrote since it last read one (see `written`). */
  written: number[];
}

export class CmosRtc implements BusDevice {
  private readonly ram = new Uint8Array(CMOS_SIZE);
  private readonly now: () => Date;
  private index = 0;
  private nmiMasked = false;
  private offsetMs = 0;
  /**
   * Time registers written since the guest last read one keep the written value instead of following the
   * clock, so a date set one field at a time (as SeaBIOS's INT 1Ah does, without SET) is taken as a whole:
   * Jan 31 -> month 2 -> day 15 gives Feb 15, not Mar 15 by way of a normalised "Feb 31".
   */
  private readonly written = new Set<number>();

  constructor(config: CmosRtcConfig) {
    const { ramSize, lowRamLimit = DEFAULT_LOW_RAM_LIMIT, now = () => new Date() } = config;
    if (!Number.isSafeInteger(ramSize) || ramSize < 0) throw new RangeError(`cmos: bad RAM size ${ramSize}`);
    if (!Number.isSafeInteger(lowRamLimit) || lowRamLimit < 0 || lowRamLimit > 4 * GIB) {
      throw new RangeError(`cmos: bad low RAM limit ${lowRamLimit}`);
    }
    this.now = now;
    this.ram[RTC_REG_A] = REG_A_DEFAULT;
    this.ram[RTC_REG_B] = REG_B_DEFAULT;

    const below4g = Math.min(ramSize, lowRamLimit);
    const above4g = ramSize - below4g;
    this.setLe(CMOS_BASE_MEMORY, 2, BASE_MEMORY_KIB);
    const extendedKib = Math.min(Math.max(below4g - MIB, 0) / KIB, 0xffff);
    this.setLe(CMOS_EXTENDED_MEMORY, 2, extendedKib);
    this.setLe(CMOS_EXTENDED_MEMORY_POST, 2, extendedKib);
    this.setLe(CMOS_MEMORY_ABOVE_16M, 2, Math.min(Math.max(below4g - 16 * MIB, 0) / UNIT_64K, 0xffff));
    this.setLe(CMOS_MEMORY_ABOVE_4G, 3, Math.min(above4g / UNIT_64K, 0xffffff));
  }

  /** True when the guest's last index write set bit 7, masking NMI. */
  get nmiDisabled(): boolean {
    return this.nmiMasked;
  }

  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    if (data.length !== 1) return; // byte-wide registers only
    // The index register is write-only; like QEMU, a read of it floats high.
    if (offset === INDEX) data[0] = 0xff;
    else if (offset === DATA) data[0] = this.readRegister(this.index);
  }

  write(offset: number, data: Uint8Array): void {
    if (data.length !== 1) return;
    const value = data[0] as number;
    if (offset === INDEX) {
      this.index = value & INDEX_MASK;
      this.nmiMasked = (value & INDEX_NMI_DISABLE) !== 0;
    } else if (offset === DATA) {
      this.writeRegister(this.index, value);
    }
  }

  private readRegister(index: number): number {
    switch (index) {
      case RTC_REG_A:
        return (this.ram[RTC_REG_A] as number) & ~REG_A_UIP;
      case RTC_REG_C:
        return 0; // no interrupt flags: nothing raises them yet
      case RTC_REG_D:
        return REG_D_VRT;
      default:
        if (TIME_REGISTERS.includes(index) && !this.frozen) {
          this.latchTime(new Set());
          this.written.clear();
        }
        return this.ram[index] as number;
    }
  }

  private writeRegister(index: number, value: number): void {
    switch (index) {
      case RTC_REG_A:
        // The divider and rate bits are kept for the guest to read back; the clock runs whatever they say.
        this.ram[RTC_REG_A] = value & ~REG_A_UIP;
        break;
      case RTC_REG_B:
        this.writeRegB(value);
        break;
      case RTC_REG_C:
      case RTC_REG_D:
        break; // read-only
      default:
        if (TIME_REGISTERS.includes(index)) this.writeTimeRegister(index, value);
        else this.ram[index] = value;
        break;
    }
  }

  /**
   * Time writes are accepted. With SET they go to the frozen registers and take effect when SET clears;
   * without it each write takes effect at once. Either way the guest's time becomes the host clock plus
   * an offset; the day of the week is stored but, as in QEMU, follows from the date.
   */
  private writeTimeRegister(index: number, value: number): void {
    if (this.frozen) {
      this.ram[index] = value;
      return;
    }
    this.latchTime(this.written);
    this.ram[index] = value;
    this.written.add(index);
    this.commitTime();
  }

  private writeRegB(value: number): void {
    const old = this.ram[RTC_REG_B] as number;
    this.ram[RTC_REG_B] = value;
    if (!(old & REG_B_SET) && value & REG_B_SET) {
      this.latchTime(this.written); // freeze what the guest would have read
    } else if (old & REG_B_SET && !(value & REG_B_SET)) {
      this.commitTime(); // the clock resumes from the registers as the guest left them
      this.written.clear();
    } else if ((old ^ value) & (REG_B_DM | REG_B_24H)) {
      this.written.clear(); // fields written in the old format must not be decoded in the new one
    }
  }

  private get frozen(): boolean {
    return ((this.ram[RTC_REG_B] as number) & REG_B_SET) !== 0;
  }

  private get binary(): boolean {
    return ((this.ram[RTC_REG_B] as number) & REG_B_DM) !== 0;
  }

  private get hours24(): boolean {
    return ((this.ram[RTC_REG_B] as number) & REG_B_24H) !== 0;
  }

  private guestTime(): Date {
    return new Date(this.now().getTime() + this.offsetMs);
  }

  /** Copies the guest's current time into the time registers, except those in `keep`. */
  private latchTime(keep: ReadonlySet<number>): void {
    const t = this.guestTime();
    if (Number.isNaN(t.getTime())) return;
    const year = t.getUTCFullYear();
    const hour = t.getUTCHours();
    const hourByte = this.hours24 ? this.encode(hour) : this.encode(hour % 12 || 12) | (hour >= 12 ? HOURS_PM : 0);
    const values: [number, number][] = [
      [RTC_SECONDS, this.encode(t.getUTCSeconds())],
      [RTC_MINUTES, this.encode(t.getUTCMinutes())],
      [RTC_HOURS, hourByte],
      [RTC_DAY_OF_WEEK, this.encode(t.getUTCDay() + 1)],
      [RTC_DAY_OF_MONTH, this.encode(t.getUTCDate())],
      [RTC_MONTH, this.encode(t.getUTCMonth() + 1)],
      [RTC_YEAR, this.encode(year % 100)],
      [RTC_CENTURY, this.encode(Math.floor(year / 100))],
    ];
    for (const [register, value] of values) if (!keep.has(register)) this.ram[register] = value;
  }

  /** Makes the time in the registers the guest's time now. Out-of-range fields carry over, as Date does. */
  private commitTime(): void {
    const field = (register: number): number => this.decode(this.ram[register] as number);
    const hourByte = this.ram[RTC_HOURS] as number;
    const hour = this.hours24
      ? this.decode(hourByte)
      : (this.decode(hourByte & ~HOURS_PM) % 12) + (hourByte & HOURS_PM ? 12 : 0);
    // setUTCFullYear, not Date.UTC, which would take years 0-99 as 1900-1999.
    const t = new Date(0);
    t.setUTCFullYear(field(RTC_CENTURY) * 100 + field(RTC_YEAR), field(RTC_MONTH) - 1, field(RTC_DAY_OF_MONTH));
    t.setUTCHours(hour, field(RTC_MINUTES), field(RTC_SECONDS), 0);
    const offset = t.getTime() - this.now().getTime();
    if (Number.isFinite(offset)) this.offsetMs = offset;
  }

  private encode(value: number): number {
    if (this.binary) return value & 0xff;
    const v = ((value % 100) + 100) % 100; // two BCD digits hold 0-99
    return (Math.floor(v / 10) << 4) | (v % 10);
  }

  /** Invalid BCD digits (a guest's business) decode to numbers anyway, never to an exception. */
  private decode(byte: number): number {
    return this.binary ? byte : (byte >> 4) * 10 + (byte & 0x0f);
  }

  private setLe(index: number, bytes: number, value: number): void {
    for (let i = 0; i < bytes; i++) this.ram[index + i] = Math.floor(value / 256 ** i) & 0xff;
  }

  snapshot(): CmosRtcSnapshot {
    return {
      ram: [...this.ram],
      index: this.index,
      nmiDisabled: this.nmiMasked,
      offsetMs: this.offsetMs,
      written: [...this.written],
    };
  }

  restore(s: CmosRtcSnapshot): void {
    for (let i = 0; i < CMOS_SIZE; i++) this.ram[i] = (s.ram[i] ?? 0) & 0xff;
    this.index = s.index & INDEX_MASK;
    this.nmiMasked = s.nmiDisabled === true;
    this.offsetMs = Number.isFinite(s.offsetMs) ? s.offsetMs : 0;
    this.written.clear();
    for (const register of s.written) if (TIME_REGISTERS.includes(register)) this.written.add(register);
  }
}
