// Guest RAM: regions of host memory, each mapped into the guest at a physical address. Two backings: memory
// an accelerator mapped itself (KVM's mmapped regions, whose host addresses it registers with the kernel), or
// SharedArrayBuffers (the emulator's: nothing native, and every thread sees the same bytes).
// Every access by guest physical address is bounds-checked; nothing reads or writes outside a region.

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

/** What another thread needs to view the same regions: a host address (mappings are per process) or the buffer. */
export interface RegionHandle {
  gpa: number;
  size: number;
  hostAddr?: bigint;
  shared?: SharedArrayBuffer;
}

export interface Region extends RegionHandle {
  bytes: Uint8Array;
}

export interface RegionLayout {
  gpa: number;
  size: number;
}

/** A view of `size` bytes of this process's memory at `hostAddr` (the accelerator that mapped them knows how). */
export type HostView = (hostAddr: bigint, size: number) => ArrayBuffer;

export const PAGE_SIZE = 4096;

export class GuestMemory {
  /**
   * Called after every write through this object (write, fill, writeU8..writeU64) with the range written:
   * the emulator drops decoded code there when a device or a loader changes it.
   */
  writeObserver: ((gpa: number, length: number) => void) | undefined;

  private constructor(
    readonly regions: readonly Region[],
    private release: (() => void) | undefined,
  ) {}

  /** Throws unless every region of `layout` is page aligned and not empty. */
  static checkLayout(layout: readonly RegionLayout[]): void {
    for (const { gpa, size } of layout) {
      if (size <= 0 || size % PAGE_SIZE !== 0 || gpa % PAGE_SIZE !== 0) {
        throw new RangeError(`guest memory region 0x${gpa.toString(16)}+0x${size.toString(16)} is not page aligned`);
      }
    }
  }

  /** Fresh zeroed regions in SharedArrayBuffers (pages cost nothing until touched). */
  static createShared(layout: readonly RegionLayout[]): GuestMemory {
    GuestMemory.checkLayout(layout);
    const regions = layout.map(({ gpa, size }) => {
      const shared = new SharedArrayBuffer(size);
      return { gpa, size, shared, bytes: new Uint8Array(shared) };
    });
    return new GuestMemory(regions, undefined);
  }

  /** Regions of host memory mapped by their owner, who frees them in `release` when this memory closes. */
  static fromHostRegions(regions: readonly Region[], release: () => void): GuestMemory {
    return new GuestMemory(regions, release);
  }

  /**
   * Views of regions created elsewhere in this process (e.g. by the main thread, seen from a worker).
   * Mapped regions need `hostView` from the accelerator that mapped them. Closing the views frees nothing.
   */
  static fromHandles(handles: readonly RegionHandle[], hostView?: HostView): GuestMemory {
    const regions = handles.map((h): Region => {
      if (h.shared) return { ...h, bytes: new Uint8Array(h.shared) };
      if (h.hostAddr === undefined || !hostView) {
        throw new Error(
          `guest memory region at 0x${h.gpa.toString(16)}: no buffer and no way to view its host address`,
        );
      }
      return { ...h, bytes: new Uint8Array(hostView(h.hostAddr, h.size)) };
    });
    return new GuestMemory(regions, undefined);
  }

  get handles(): RegionHandle[] {
    return this.regions.map(({ gpa, size, hostAddr, shared }) => ({
      gpa,
      size,
      ...(hostAddr !== undefined && { hostAddr }),
      ...(shared && { shared }),
    }));
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

  /**
   * A zero-copy view of guest memory; throws GuestMemoryError unless the range lies in one region. Writes
   * through it bypass writeObserver: use write() or fill() to change memory a vCPU may have run.
   */
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
    this.writeObserver?.(gpa, data.length);
  }

  /** Sets `length` bytes from `gpa` to `value` (zeroing a .bss, a page table). */
  fill(gpa: number, length: number, value = 0): void {
    this.slice(gpa, length).fill(value);
    this.writeObserver?.(gpa, length);
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
    this.writeObserver?.(gpa, 1);
  }
  writeU16(gpa: number, value: number): void {
    this.dataView(gpa, 2).setUint16(0, value, true);
    this.writeObserver?.(gpa, 2);
  }
  writeU32(gpa: number, value: number): void {
    this.dataView(gpa, 4).setUint32(0, value >>> 0, true);
    this.writeObserver?.(gpa, 4);
  }
  writeU64(gpa: number, value: bigint): void {
    this.dataView(gpa, 8).setBigUint64(0, value, true);
    this.writeObserver?.(gpa, 8);
  }

  /** Releases the regions, when this instance owns mapped ones (SharedArrayBuffers are the GC's). */
  close(): void {
    const release = this.release;
    this.release = undefined;
    release?.();
  }
}
