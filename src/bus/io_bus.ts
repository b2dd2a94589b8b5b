// The I/O bus: port-I/O and MMIO address ranges, each owned by one device. Accesses nobody claims read as
// all ones and are dropped on write, and are counted (a guest probing for hardware does this a lot).

/** A device as the bus sees it: an access at an offset inside the range it was registered for. */
export interface BusDevice {
  read(offset: number, data: Uint8Array): void;
  write(offset: number, data: Uint8Array): void;
}

export type AddressSpace = "pio" | "mmio";

/** What the run loop dispatches guest accesses to: the bus itself, or a proxy to it in another thread. */
export interface Bus {
  read(space: AddressSpace, addr: number, data: Uint8Array): void;
  write(space: AddressSpace, addr: number, data: Uint8Array): void;
}

export interface Range {
  base: number;
  size: number;
  device: BusDevice;
  name: string;
}

export interface UnclaimedAccess {
  space: AddressSpace;
  addr: number;
  size: number;
  write: boolean;
  data: Uint8Array;
}

const PORT_SPACE = 0x10000;

export class IoBus implements Bus {
  // Port I/O: one slot per port, so dispatch is a single array lookup.
  private readonly ports: (Range | undefined)[] = new Array(PORT_SPACE);
  private readonly mmio: Range[] = [];
  unclaimedReads = 0;
  unclaimedWrites = 0;
  /** Called for every unclaimed access (e.g. by --trace). */
  onUnclaimed: ((access: UnclaimedAccess) => void) | undefined;

  registerPio(base: number, size: number, device: BusDevice, name: string): void {
    if (base < 0 || size <= 0 || base + size > PORT_SPACE) throw new RangeError(`${name}: bad port range`);
    for (let p = base; p < base + size; p++) {
      const owner = this.ports[p];
      if (owner) throw new RangeError(`${name}: port 0x${p.toString(16)} already belongs to ${owner.name}`);
    }
    const range = { base, size, device, name };
    for (let p = base; p < base + size; p++) this.ports[p] = range;
  }

  registerMmio(base: number, size: number, device: BusDevice, name: string): void {
    if (base < 0 || size <= 0 || !Number.isSafeInteger(base + size)) throw new RangeError(`${name}: bad MMIO range`);
    const clash = this.mmio.find((r) => base < r.base + r.size && r.base < base + size);
    if (clash) throw new RangeError(`${name}: MMIO range overlaps ${clash.name}`);
    this.mmio.push({ base, size, device, name });
    this.mmio.sort((a, b) => a.base - b.base);
  }

  /** Takes back the range registered at `base` (a PCI BAR the guest moves or disables). */
  unregister(space: AddressSpace, base: number): void {
    if (space === "mmio") {
      const at = this.mmio.findIndex((r) => r.base === base);
      if (at >= 0) this.mmio.splice(at, 1);
      return;
    }
    const range = this.ports[base];
    if (!range || range.base !== base) return;
    for (let p = base; p < base + range.size; p++) this.ports[p] = undefined;
  }

  /** The range that owns an address, if any. */
  find(space: AddressSpace, addr: number): Range | undefined {
    if (space === "pio") return this.ports[addr];
    for (const r of this.mmio) {
      if (addr >= r.base && addr < r.base + r.size) return r;
    }
    return undefined;
  }

  read(space: AddressSpace, addr: number, data: Uint8Array): void {
    const r = this.find(space, addr);
    if (r) {
      r.device.read(addr - r.base, data);
      return;
    }
    data.fill(0xff);
    this.unclaimedReads++;
    this.onUnclaimed?.({ space, addr, size: data.length, write: false, data });
  }

  write(space: AddressSpace, addr: number, data: Uint8Array): void {
    const r = this.find(space, addr);
    if (r) {
      r.device.write(addr - r.base, data);
      return;
    }
    this.unclaimedWrites++;
    this.onUnclaimed?.({ space, addr, size: data.length, write: true, data });
  }
}
