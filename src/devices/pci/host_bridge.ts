// A minimal PCI host bridge: bus 0 reached through configuration mechanism #1 (PCI Local Bus Specification
// 3.0, 3.2.2.3.2), the way i440FX-class chipsets and QEMU's `pc` machine offer it:
// - CONFIG_ADDRESS at 0xcf8, a 32-bit register only when accessed as a dword (bit 31 enable, bits 23:16
//   bus, 15:11 device, 10:8 function, 7:2 dword register). Byte and word accesses to 0xcf8-0xcfb are not
//   this register: a byte at 0xcf9 is the chipset's Reset Control Register, so it is passed to `legacy`;
// - CONFIG_DATA at 0xcfc-0xcff: 1, 2 or 4 bytes of the addressed function's configuration space, at the
//   register CONFIG_ADDRESS names plus the port's offset. With the enable bit clear, or for a function that
//   does not exist, reads return all ones and writes are dropped.
// The bridge itself is function 00:00.0 (vendor 0x8086, device 0x1237: the i440FX's). Devices plug into
// slots 1-31, function 0 only. When a guest changes a device's command register or a BAR, the bridge moves
// the BAR's region on the bus: a region decodes while the command register enables its space and its
// address is neither 0 nor past the end of the space (as QEMU has it).
import type { BusDevice } from "../../bus/io_bus.js";
import { type BarKind, ConfigSpace, PCI_BAR_COUNT } from "./config_space.js";

export const PCI_CONFIG_ADDRESS_PORT = 0xcf8;
export const PCI_CONFIG_DATA_PORT = 0xcfc;
/** 0xcf8-0xcff, including the Reset Control Register's byte at 0xcf9. */
export const PCI_CONFIG_PORT_COUNT = 8;
const RESET_CONTROL_OFFSET = 1;
const CONFIG_ENABLE = 0x80000000;
const SLOTS = 32;

export const PCI_VENDOR_ID_INTEL = 0x8086;
export const PCI_DEVICE_ID_I440FX = 0x1237;
const PCI_CLASS_BRIDGE_HOST = 0x060000;

/** A PCI function on the bus: its configuration space and what each BAR maps. */
export interface PciFunction {
  name: string;
  config: ConfigSpace;
  regions?: (BusDevice | undefined)[];
}

/** Where BARs go: the machine's bus, seen as ranges that can be added and taken back. */
export interface BarMapper {
  map(kind: BarKind, base: number, size: number, device: BusDevice, name: string): boolean;
  unmap(kind: BarKind, base: number): void;
}

/** Where firmware would place BARs: SeaBIOS starts I/O at 0xc000 and puts memory below the IOAPIC. */
export const FIRMWARE_IO_BASE = 0xc000;
export const FIRMWARE_MMIO_BASE = 0xfe000000;

interface Mapping {
  kind: BarKind;
  base: number;
}

export class PciHostBridge {
  private address = 0;
  private readonly slots: (PciFunction | undefined)[] = new Array(SLOTS).fill(undefined);
  private readonly mapped = new Map<string, Mapping>();
  readonly config = new ConfigSpace({
    vendorId: PCI_VENDOR_ID_INTEL,
    deviceId: PCI_DEVICE_ID_I440FX,
    revision: 2,
    classCode: PCI_CLASS_BRIDGE_HOST,
  });

  /** `legacy` answers the byte at 0xcf9 (the Reset Control Register) and other non-dword accesses there. */
  constructor(
    private readonly mapper: BarMapper,
    private readonly legacy?: BusDevice,
  ) {
    this.slots[0] = { name: "host-bridge", config: this.config };
  }

  /** Plugs `fn` into `slot` (1-31), function 0. */
  plug(slot: number, fn: PciFunction): void {
    if (slot <= 0 || slot >= SLOTS || this.slots[slot]) throw new RangeError(`PCI slot ${slot} is taken or invalid`);
    this.slots[slot] = fn;
    fn.config.onMappingChange = () => this.remap(slot);
  }

  /** Assigns every BAR an address and enables decoding, as the firmware does before it boots a kernel. */
  assignLikeFirmware(): void {
    let io = FIRMWARE_IO_BASE;
    let mmio = FIRMWARE_MMIO_BASE;
    this.slots.forEach((fn, slot) => {
      if (!fn || slot === 0) return;
      let command = 0;
      fn.config.bars.forEach((bar, i) => {
        if (!bar) return;
        const at = 0x10 + i * 4;
        if (bar.kind === "io") {
          io = Math.ceil(io / bar.size) * bar.size;
          fn.config.write(at, 4, io);
          io += bar.size;
          command |= 1;
        } else {
          mmio = Math.ceil(mmio / bar.size) * bar.size;
          fn.config.write(at, 4, mmio);
          mmio += bar.size;
          command |= 2;
        }
      });
      fn.config.write(4, 2, fn.config.command | command);
    });
  }

  /** The last value written to CONFIG_ADDRESS. */
  get configAddress(): number {
    return this.address;
  }

  /** The ports 0xcf8-0xcff as one bus device. */
  readonly ports: BusDevice = {
    read: (offset, data) => {
      if (offset === 0 && data.length === 4) {
        new DataView(data.buffer, data.byteOffset, 4).setUint32(0, this.address, true);
      } else if (offset >= 4) {
        this.readData(offset - 4, data);
      } else if (offset === RESET_CONTROL_OFFSET && data.length === 1 && this.legacy) {
        this.legacy.read(0, data);
      } else {
        data.fill(0xff);
      }
    },
    write: (offset, data) => {
      if (offset === 0 && data.length === 4) {
        this.address = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
      } else if (offset >= 4) {
        this.writeData(offset - 4, data);
      } else if (offset === RESET_CONTROL_OFFSET && data.length === 1) {
        this.legacy?.write(0, data);
      }
    },
  };

  /** The function CONFIG_ADDRESS selects, with the register offset for a data port at `lane`. */
  private target(lane: number): { fn: PciFunction; register: number } | undefined {
    const a = this.address;
    if (!(a & CONFIG_ENABLE)) return undefined;
    const bus = (a >>> 16) & 0xff;
    const slot = (a >>> 11) & 0x1f;
    const func = (a >>> 8) & 0x7;
    const fn = bus === 0 && func === 0 ? this.slots[slot] : undefined;
    return fn && { fn, register: (a & 0xfc) + lane };
  }

  private readData(lane: number, data: Uint8Array): void {
    const t = this.target(lane);
    if (!t) {
      data.fill(0xff);
      return;
    }
    const value = t.fn.config.read(t.register, data.length);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(value / 256 ** i) & 0xff;
  }

  private writeData(lane: number, data: Uint8Array): void {
    const t = this.target(lane);
    if (!t) return;
    let value = 0;
    for (let i = data.length - 1; i >= 0; i--) value = value * 256 + (data[i] as number);
    t.fn.config.write(t.register, data.length, value);
  }

  /** Moves slot `slot`'s BAR regions to where its configuration space now says. */
  private remap(slot: number): void {
    const fn = this.slots[slot];
    if (!fn) return;
    for (let i = 0; i < PCI_BAR_COUNT; i++) {
      const bar = fn.config.bars[i];
      const device = fn.regions?.[i];
      if (!bar || !device) continue;
      const key = `${slot}.${i}`;
      const want = fn.config.barAddress(i);
      const have = this.mapped.get(key);
      if (have && have.base === want) continue;
      if (have) {
        this.mapper.unmap(have.kind, have.base);
        this.mapped.delete(key);
      }
      if (want !== undefined && this.mapper.map(bar.kind, want, bar.size, device, `${fn.name}-bar${i}`)) {
        this.mapped.set(key, { kind: bar.kind, base: want });
      }
    }
  }
}
