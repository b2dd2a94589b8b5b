// The I/O APIC (Intel 82093AA datasheet, and the EOI register of the version 0x20 parts in Intel's ICH
// datasheets) as a pure state machine: the guest programs it through an index register and a data window in
// its MMIO page, device lines arrive through `setIrq`, and each interrupt leaves as an APIC message through
// `send`. Remote IRR is cleared by `eoi`, which the local APICs' EOI broadcast or the EOI register call.
import { IOAPIC_PINS } from "../../arch/x86/interrupt_topology.js";
import type { BusDevice } from "../../bus/io_bus.js";
import { type ApicMessage, DeliveryMode, DestMode, TriggerMode } from "./apic_message.js";
import { mergeBytes, putBytes } from "./register_bytes.js";

// MMIO offsets from the IOAPIC's base (0xfec00000 on a PC).
const IOREGSEL = 0x00;
const IOWIN = 0x10;
const IOEOI = 0x40;
/** The window the IOAPIC decodes (the datasheet's 0xfec0xy00 range is 4 KiB with aliases; this is one page). */
export const IOAPIC_MMIO_SIZE = 0x1000;

// Indirect registers, selected through IOREGSEL.
const REG_ID = 0x00;
const REG_VERSION = 0x01;
const REG_ARBITRATION = 0x02;
const REG_REDIRECTION_FIRST = 0x10;

/** 24 inputs, as the MP table and MADT say; the version register reports the last entry's index. */
export const IOAPIC_PIN_COUNT = IOAPIC_PINS;
/** Version 0x20 (ICH and later) adds the EOI register; 0x11 (the 82093AA, KVM's choice) lacks it. */
export const IOAPIC_VERSION_EOI = 0x20;
const VERSION_MAX_ENTRY_SHIFT = 16;
/** The ID sits in bits 24-31 (the 82093AA decodes 4 of them; 8 keep IDs above 15 as the MADT says them). */
const ID_SHIFT = 24;
const ARBITRATION_ID_MASK = 0xf;

// Redirection entry, low dword (datasheet 3.2.4).
const RTE_VECTOR = 0xff;
const RTE_DELIVERY_MODE_SHIFT = 8;
const RTE_DEST_LOGICAL = 1 << 11;
const RTE_DELIVERY_STATUS = 1 << 12;
const RTE_POLARITY_LOW = 1 << 13;
const RTE_REMOTE_IRR = 1 << 14;
const RTE_TRIGGER_LEVEL = 1 << 15;
const RTE_MASKED = 1 << 16;
/** Bits the guest may write: delivery status and remote IRR are the IOAPIC's own. */
const RTE_LOW_WRITABLE = 0x1ffff & ~(RTE_DELIVERY_STATUS | RTE_REMOTE_IRR);
/** High dword: the destination in bits 24-31 (bits 56-63 of the entry). */
const RTE_DEST_SHIFT = 24;
const RTE_HIGH_WRITABLE = 0xff << RTE_DEST_SHIFT;

export interface IoapicConfig {
  /** The IOAPIC's APIC ID (interrupt_topology.ts's ioapicId). */
  id: number;
  /** The version register's low byte; IOAPIC_VERSION_EOI by default. */
  version?: number;
  /**
   * Sends an interrupt message to the local APICs; returns whether any accepted it (Remote IRR of a
   * level-triggered entry is set only then, as KVM does).
   */
  send: (msg: ApicMessage) => boolean;
}

export class Ioapic implements BusDevice {
  private id: number;
  private readonly version: number;
  private readonly send: (msg: ApicMessage) => boolean;
  private ioregsel = 0;
  private readonly low = new Uint32Array(IOAPIC_PIN_COUNT).fill(RTE_MASKED);
  private readonly high = new Uint32Array(IOAPIC_PIN_COUNT);
  /** The electrical level of each input pin, before the polarity of its entry applies. */
  private readonly pinLevel = new Array<boolean>(IOAPIC_PIN_COUNT).fill(false);

  constructor(config: IoapicConfig) {
    this.id = config.id & 0xff;
    this.version = config.version ?? IOAPIC_VERSION_EOI;
    this.send = config.send;
  }

  read(offset: number, data: Uint8Array): void {
    let value = 0;
    const base = offset & ~3;
    if (base === IOREGSEL) value = this.ioregsel;
    else if (base === IOWIN) value = this.readRegister(this.ioregsel);
    putBytes(data, offset & 3, value);
  }

  write(offset: number, data: Uint8Array): void {
    const base = offset & ~3;
    if (base === IOREGSEL) {
      this.ioregsel = mergeBytes(this.ioregsel, data, offset & 3) & 0xff;
    } else if (base === IOWIN) {
      this.writeRegister(this.ioregsel, mergeBytes(this.readRegister(this.ioregsel), data, offset & 3));
    } else if (base === IOEOI && this.version >= IOAPIC_VERSION_EOI) {
      this.eoi(data[0] ?? 0);
    }
  }

  /**
   * Drives input `pin` to an electrical level (true = high). An entry programmed active low sees the
   * line asserted while it is low: devices that follow the MADT's ISA polarity (active high) pass true to assert.
   */
  setIrq(pin: number, level: boolean): void {
    if (!Number.isInteger(pin) || pin < 0 || pin >= IOAPIC_PIN_COUNT) throw new RangeError(`IOAPIC pin ${pin}`);
    const was = this.asserted(pin);
    this.pinLevel[pin] = level;
    const now = this.asserted(pin);
    if (this.isLevel(pin)) {
      if (now) this.service(pin);
    } else if (now && !was) {
      this.service(pin); // edge: only the rising edge of the asserted state delivers
    }
  }

  /** End of interrupt for `vector`: clears Remote IRR of the level entries using it and redelivers lines still asserted. */
  eoi(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PIN_COUNT; pin++) {
      const low = this.entryLow(pin);
      if ((low & RTE_VECTOR) !== vector || !(low & RTE_TRIGGER_LEVEL) || !(low & RTE_REMOTE_IRR)) continue;
      this.low[pin] = low & ~RTE_REMOTE_IRR;
      if (this.asserted(pin)) this.service(pin);
    }
  }

  /** The 64-bit redirection entry of `pin` as two dwords, for tests and debugging. */
  redirectionEntry(pin: number): { low: number; high: number } {
    return { low: this.entryLow(pin), high: this.high[pin] ?? 0 };
  }

  private entryLow(pin: number): number {
    return this.low[pin] ?? RTE_MASKED;
  }

  private isLevel(pin: number): boolean {
    return (this.entryLow(pin) & RTE_TRIGGER_LEVEL) !== 0;
  }

  private asserted(pin: number): boolean {
    const activeLow = (this.entryLow(pin) & RTE_POLARITY_LOW) !== 0;
    return this.pinLevel[pin] !== activeLow;
  }

  /** Sends the entry's message if it may go now: unmasked and, for level entries, not awaiting an EOI. */
  private service(pin: number): void {
    const low = this.entryLow(pin);
    if (low & RTE_MASKED) return;
    const mode = ((low >>> RTE_DELIVERY_MODE_SHIFT) & 7) as DeliveryMode;
    // Remote IRR applies to fixed and lowest-priority entries; NMI, SMI, INIT and ExtINT are edge messages.
    const level = (low & RTE_TRIGGER_LEVEL) !== 0 && (mode === DeliveryMode.FIXED || mode === DeliveryMode.LOWEST);
    if (level && low & RTE_REMOTE_IRR) return;
    const accepted = this.send({
      vector: low & RTE_VECTOR,
      deliveryMode: mode,
      destMode: low & RTE_DEST_LOGICAL ? DestMode.LOGICAL : DestMode.PHYSICAL,
      dest: (this.high[pin] ?? 0) >>> RTE_DEST_SHIFT,
      level: true,
      trigger: level ? TriggerMode.LEVEL : TriggerMode.EDGE,
    });
    if (level && accepted) this.low[pin] = this.entryLow(pin) | RTE_REMOTE_IRR;
  }

  private readRegister(index: number): number {
    switch (index) {
      case REG_ID:
        return (this.id << ID_SHIFT) >>> 0;
      case REG_VERSION:
        return ((IOAPIC_PIN_COUNT - 1) << VERSION_MAX_ENTRY_SHIFT) | this.version;
      case REG_ARBITRATION:
        return (this.id & ARBITRATION_ID_MASK) << ID_SHIFT;
    }
    const pin = (index - REG_REDIRECTION_FIRST) >> 1;
    if (index < REG_REDIRECTION_FIRST || pin >= IOAPIC_PIN_COUNT) return 0;
    return index & 1 ? (this.high[pin] ?? 0) : this.entryLow(pin);
  }

  private writeRegister(index: number, value: number): void {
    if (index === REG_ID) {
      this.id = value >>> ID_SHIFT;
      return;
    }
    const pin = (index - REG_REDIRECTION_FIRST) >> 1;
    if (index < REG_REDIRECTION_FIRST || pin >= IOAPIC_PIN_COUNT) return; // version, arbitration: read-only
    if (index & 1) {
      this.high[pin] = value & RTE_HIGH_WRITABLE;
      return;
    }
    const old = this.entryLow(pin);
    let low = (old & ~RTE_LOW_WRITABLE) | (value & RTE_LOW_WRITABLE);
    if (!(low & RTE_TRIGGER_LEVEL)) low &= ~RTE_REMOTE_IRR; // an edge entry has no EOI to wait for
    this.low[pin] = low >>> 0;
    // A level line still asserted delivers once unmasked (or EOI'd); edges seen while masked are lost.
    if (low & RTE_TRIGGER_LEVEL && this.asserted(pin)) this.service(pin);
  }
}
