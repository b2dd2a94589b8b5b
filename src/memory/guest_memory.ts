// Guest RAM: regions of anonymous shared memory, each mapped into the guest at a physical address.
// Every access by guest physical address is bounds-checked; nothing reads or writes outside a region.
import { MAP_ANONYMOUS, MAP_NORESERVE, MAP_SHARED, mmap, munmap, PROT_READ, PROT_WRITE, view } from "../kvm/sys.js";

/** An access that falls (partly) outside guest RAM. */
export class GuestMemoryError extends Error {
  constructor(
    readonly gpa: number,
    readonly length: number,
  ) {
    super(`guest physical range 0x${gpa.toString(16)}+0x${length.toString(16)} is outside guest RAM`);
    this.name = "GuestMemoryError";
  }
}

/** What another thread needs to view the same regions (the mappings are per process). */
export interface RegionHandle {
  gpa: number;
  size: number;
  hostAddr: bigint;
}

export interface Region extends RegionHandle {
  bytes: Uint8Array;
}

export const PAGE_SIZE = 4096;

export class GuestMemory {
  private constructor(
    readonly regions: readonly Region[],
    private readonly owned: boolean,
  ) {}

  /** Maps fresh zeroed regions. Pages are only backed when touched (MAP_NORESERVE). */
  static create(layout: readonly { gpa: number; size: number }[]): GuestMemory {
    const regions: Region[] = [];
    try {
      for (const { gpa, size } of layout) {
        if (size <= 0 || size % PAGE_SIZE !== 0 || gpa % PAGE_SIZE !== 0) {
          throw new RangeError(`guest memory region 0x${gpa.toString(16)}+0x${size.toString(16)} is not page aligned`);
        }
        const hostAddr = mmap(size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1);
        regions.push({ gpa, size, hostAddr, bytes: new Uint8Array(view(hostAddr, size)) });
      }
    } catch (e) {
      for (const r of regions) munmap(r.hostAddr, r.size);
      throw e;
    }
    return new GuestMemory(regions, true);
  }

  /** Views of regions mapped elsewhere in this process (e.g. by the main thread, seen from a worker). */
  static fromHandles(handles: readonly RegionHandle[]): GuestMemory {
    const regions = handles.map((h) => ({ ...h, bytes: new Uint8Array(view(h.hostAddr, h.size)) }));
    return new GuestMemory(regions, false);
  }

  get handles(): RegionHandle[] {
    return this.regions.map(({ gpa, size, hostAddr }) => ({ gpa, size, hostAddr }));
  }

  /** Total bytes of RAM. */
  get size(): number {
    return this.regions.reduce((sum, r) => sum + r.size, 0);
  }

  /** Whether [gpa, gpa+length) lies inside one region. */
  contains(gpa: number, length: number): boolean {
    return this.find(gpa, length) !== undefined;
  }

  private find(gpa: number, length: number): Region | undefined {
    if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(length) || gpa < 0 || length < 0) return undefined;
    for (const r of this.regions) {
      if (gpa >= r.gpa && gpa + length <= r.gpa + r.size) return r;
    }
    return undefined;
  }

  /** A zero-copy view of guest memory; throws GuestMemoryError unless the range lies in one region. */
  slice(gpa: number, length: number): Uint8Array {
    const r = this.find(gpa, length);
    if (!r) throw new GuestMemoryError(gpa, length);
    const at = gpa - r.gpa;
    return r.bytes.subarray(at, at + length);
  }

  read(gpa: number, length: number): Uint8Array {
    return this.slice(gpa, length).slice();
  }

  write(gpa: number, data: Uint8Array): void {
    this.slice(gpa, data.length).set(data);
  }

  private dataView(gpa: number, length: number): DataView {
    const s = this.slice(gpa, length);
    return new DataView(s.buffer, s.byteOffset, length);
  }

  readU8(gpa: number): number {
    return this.slice(gpa, 1)[0] as number;
  }
  readU16(gpa: number): number {
    return this.dataView(gpa, 2).getUint16(0, true);
  }
  readU32(gpa: number): number {
    return this.dataView(gpa, 4).getUint32(0, true);
  }
  readU64(gpa: number): bigint {
    return this.dataView(gpa, 8).getBigUint64(0, true);
  }
  writeU8(gpa: number, value: number): void {
    this.slice(gpa, 1)[0] = value;
  }
  writeU16(gpa: number, value: number): void {
    this.dataView(gpa, 2).setUint16(0, value, true);
  }
  writeU32(gpa: number, value: number): void {
    this.dataView(gpa, 4).setUint32(0, value >>> 0, true);
  }
  writeU64(gpa: number, value: bigint): void {
    this.dataView(gpa, 8).setBigUint64(0, value, true);
  }

  /** Unmaps the regions (only those this instance mapped). */
  close(): void {
    if (!this.owned) return;
    for (const r of this.regions) munmap(r.hostAddr, r.size);
  }
}
