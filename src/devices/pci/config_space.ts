// A PCI function's configuration space (PCI Local Bus Specification 3.0, chapter 6): the 256-byte type 0
// header with per-byte write masks, and the base address registers, whose low bits are hard-wired so that
// a guest writing all ones reads back the size of the region (section 6.2.5.1). The model knows nothing of
// how the space is reached (host_bridge.ts) or what the BARs map (the device and the bridge do).

export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION_ID = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_CLASS_DEVICE = 0x0a;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BASE_ADDRESS_0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;
export const PCI_CONFIG_SIZE = 0x100;
export const PCI_BAR_COUNT = 6;

// Command register bits.
export const PCI_COMMAND_IO = 0x1;
export const PCI_COMMAND_MEMORY = 0x2;
export const PCI_COMMAND_MASTER = 0x4;
export const PCI_COMMAND_INTX_DISABLE = 0x400;

// BAR low bits.
export const PCI_BAR_SPACE_IO = 0x1;
export const PCI_BAR_IO_MASK = 0x3;
export const PCI_BAR_MEM_MASK = 0xf;

export type BarKind = "mmio" | "io";

export interface BarDefinition {
  kind: BarKind;
  /** A power of two: at least 16 for memory, 4 for I/O. */
  size: number;
}

export interface PciIdentity {
  vendorId: number;
  deviceId: number;
  revision?: number;
  /** Class, subclass and programming interface as one 24-bit value (0xff0000: "other"). */
  classCode: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  /** INTx pin (1 = INTA#); 0 for none. */
  interruptPin?: number;
}

export class ConfigSpace {
  private readonly bytes = new Uint8Array(PCI_CONFIG_SIZE);
  /** Bits a guest may change, byte by byte. */
  private readonly writable = new Uint8Array(PCI_CONFIG_SIZE);
  readonly bars: (BarDefinition | undefined)[];
  /** Called after a write that changes the command register or a BAR (so mappings can follow). */
  onMappingChange: (() => void) | undefined;

  constructor(identity: PciIdentity, bars: (BarDefinition | undefined)[] = []) {
    this.bars = Array.from({ length: PCI_BAR_COUNT }, (_, i) => bars[i]);
    this.set16(PCI_VENDOR_ID, identity.vendorId);
    this.set16(PCI_DEVICE_ID, identity.deviceId);
    this.bytes[PCI_REVISION_ID] = identity.revision ?? 0;
    this.bytes[PCI_CLASS_PROG] = identity.classCode & 0xff;
    this.set16(PCI_CLASS_DEVICE, identity.classCode >>> 8);
    this.set16(PCI_SUBSYSTEM_VENDOR_ID, identity.subsystemVendorId ?? 0);
    this.set16(PCI_SUBSYSTEM_ID, identity.subsystemId ?? 0);
    this.bytes[PCI_INTERRUPT_PIN] = identity.interruptPin ?? 0;
    // Command: I/O, memory, bus master, and INTx disable are the bits this platform honours.
    const command = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;
    this.writable[PCI_COMMAND] = command & 0xff;
    this.writable[PCI_COMMAND + 1] = command >>> 8;
    this.writable[PCI_INTERRUPT_LINE] = 0xff;
    this.bars.forEach((bar, i) => {
      if (!bar) return;
      if (bar.size & (bar.size - 1) || bar.size < (bar.kind === "io" ? 4 : 16)) {
        throw new RangeError(`BAR${i}: size 0x${bar.size.toString(16)} is not a power of two of the minimum size`);
      }
      const at = PCI_BASE_ADDRESS_0 + i * 4;
      // All 32 address bits are writable for I/O too, as QEMU has them: sizing reads 0xffffff01 for 256 ports.
      const mask = (~(bar.size - 1) >>> 0) & ~(bar.kind === "io" ? PCI_BAR_IO_MASK : PCI_BAR_MEM_MASK);
      for (let b = 0; b < 4; b++) this.writable[at + b] = (mask >>> (b * 8)) & 0xff;
      if (bar.kind === "io") this.bytes[at] = PCI_BAR_SPACE_IO;
    });
  }

  /** Reads `size` (1, 2 or 4) bytes at `offset`, little-endian, as an unsigned number. */
  read(offset: number, size: number): number {
    let value = 0;
    for (let i = size - 1; i >= 0; i--) {
      const at = offset + i;
      value = value * 256 + (at < PCI_CONFIG_SIZE ? (this.bytes[at] as number) : 0);
    }
    return value;
  }

  /** Writes `size` bytes; only writable bits change. */
  write(offset: number, size: number, value: number): void {
    let mappingChanged = false;
    for (let i = 0; i < size; i++) {
      const at = offset + i;
      if (at >= PCI_CONFIG_SIZE) break;
      const mask = this.writable[at] as number;
      const byte = Math.floor(value / 256 ** i) & 0xff;
      const next = ((this.bytes[at] as number) & ~mask) | (byte & mask);
      if (
        next !== this.bytes[at] &&
        (at < PCI_COMMAND + 2 || (at >= PCI_BASE_ADDRESS_0 && at < PCI_BASE_ADDRESS_0 + 24))
      ) {
        mappingChanged = true;
      }
      this.bytes[at] = next;
    }
    if (mappingChanged) this.onMappingChange?.();
  }

  get command(): number {
    return this.read(PCI_COMMAND, 2);
  }

  /** Where BAR `index` decodes, or undefined while the command register or its address disables it. */
  barAddress(index: number): number | undefined {
    const bar = this.bars[index];
    if (!bar) return undefined;
    const raw = this.read(PCI_BASE_ADDRESS_0 + index * 4, 4);
    if (bar.kind === "io") {
      if (!(this.command & PCI_COMMAND_IO)) return undefined;
      const base = (raw & ~PCI_BAR_IO_MASK) >>> 0;
      // As QEMU: address 0 and a region running past the 64 KiB port space are not mapped.
      return base === 0 || base + bar.size > 0x10000 ? undefined : base;
    }
    if (!(this.command & PCI_COMMAND_MEMORY)) return undefined;
    const base = (raw & ~PCI_BAR_MEM_MASK) >>> 0;
    return base === 0 || base + bar.size > 0x1_0000_0000 ? undefined : base;
  }

  private set16(offset: number, value: number): void {
    this.bytes[offset] = value & 0xff;
    this.bytes[offset + 1] = (value >>> 8) & 0xff;
  }
}
