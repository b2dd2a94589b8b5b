// struct kvm_run: the page shared with the kernel through which KVM_RUN reports why it returned.
// Accessors read straight from the mapping; nothing is copied on the hot path.

/** KVM_EXIT_* reasons. */
export const ExitReason = {
  UNKNOWN: 0,
  EXCEPTION: 1,
  IO: 2,
  HYPERCALL: 3,
  DEBUG: 4,
  HLT: 5,
  MMIO: 6,
  IRQ_WINDOW_OPEN: 7,
  SHUTDOWN: 8,
  FAIL_ENTRY: 9,
  INTR: 10,
  NMI: 16,
  INTERNAL_ERROR: 17,
  SYSTEM_EVENT: 24,
} as const;

const exitNames = new Map<number, string>(Object.entries(ExitReason).map(([name, value]) => [value, name]));
export function exitReasonName(reason: number): string {
  return `KVM_EXIT_${exitNames.get(reason) ?? reason}`;
}

/** KVM_INTERNAL_ERROR_* suberrors. */
const internalErrorNames = new Map([
  [1, "EMULATION"],
  [2, "SIMUL_EX"],
  [3, "DELIVERY_EV"],
  [4, "UNEXPECTED_EXIT_REASON"],
]);
export function internalErrorName(suberror: number): string {
  return `KVM_INTERNAL_ERROR_${internalErrorNames.get(suberror) ?? suberror}`;
}

/** KVM_SYSTEM_EVENT_* types. */
export const SystemEvent = { SHUTDOWN: 1, RESET: 2, CRASH: 3 } as const;

export const KVM_EXIT_IO_IN = 0;
export const KVM_EXIT_IO_OUT = 1;

// Offsets inside struct kvm_run.
const IMMEDIATE_EXIT = 1;
const EXIT_REASON = 8;
const UNION = 32;

// Views of the I/O and MMIO data are cached: exits are hot, and an allocation per exit shows in the cost.
const MMIO_DATA = UNION + 8;

export class KvmRun {
  readonly bytes: Uint8Array;
  private readonly dv: DataView;
  private readonly u32: Uint32Array;
  private readonly mmioViews: Uint8Array[];
  private ioView: Uint8Array;
  private ioViewAt = -1;

  constructor(buffer: ArrayBuffer) {
    this.bytes = new Uint8Array(buffer);
    this.dv = new DataView(buffer);
    this.u32 = new Uint32Array(buffer);
    this.mmioViews = Array.from({ length: 9 }, (_, len) => this.bytes.subarray(MMIO_DATA, MMIO_DATA + len));
    this.ioView = this.bytes.subarray(0, 0);
  }

  get exitReason(): number {
    return this.u32[EXIT_REASON >> 2] as number;
  }

  get immediateExit(): boolean {
    return this.bytes[IMMEDIATE_EXIT] !== 0;
  }
  set immediateExit(value: boolean) {
    this.bytes[IMMEDIATE_EXIT] = value ? 1 : 0;
  }

  // KVM_EXIT_IO: direction, size, port, count, data_offset.
  get ioDirection(): number {
    return this.bytes[UNION] as number;
  }
  get ioSize(): number {
    return this.bytes[UNION + 1] as number;
  }
  get ioPort(): number {
    return this.dv.getUint16(UNION + 2, true);
  }
  get ioCount(): number {
    return this.dv.getUint32(UNION + 4, true);
  }
  /** Offset of the data within this mapping (a 64-bit field whose value is always within the mapping). */
  get ioDataOffset(): number {
    return this.u32[(UNION + 8) >> 2] as number;
  }
  /** The data of one I/O item at `at` (a view into the page). */
  ioData(at: number, size: number): Uint8Array {
    if (at !== this.ioViewAt || size !== this.ioView.length) {
      this.ioView = this.bytes.subarray(at, at + size);
      this.ioViewAt = at;
    }
    return this.ioView;
  }

  // KVM_EXIT_MMIO: phys_addr, data[8], len, is_write.
  get mmioPhysAddr(): number {
    return (this.u32[UNION >> 2] as number) + (this.u32[(UNION >> 2) + 1] as number) * 2 ** 32;
  }
  get mmioLen(): number {
    return this.u32[(UNION + 16) >> 2] as number;
  }
  get mmioIsWrite(): boolean {
    return this.bytes[UNION + 20] !== 0;
  }
  /** The MMIO data bytes, a view into the page (the guest's value on write, ours to fill on read). */
  mmioData(len: number): Uint8Array {
    return this.mmioViews[Math.min(len, 8)] as Uint8Array;
  }

  // KVM_EXIT_FAIL_ENTRY: hardware_entry_failure_reason, cpu.
  get failEntryReason(): bigint {
    return this.dv.getBigUint64(UNION, true);
  }

  // KVM_EXIT_INTERNAL_ERROR: suberror, ndata, data[16].
  get internalSuberror(): number {
    return this.dv.getUint32(UNION, true);
  }
  get internalData(): bigint[] {
    const n = Math.min(this.dv.getUint32(UNION + 4, true), 16);
    return Array.from({ length: n }, (_, i) => this.dv.getBigUint64(UNION + 8 + i * 8, true));
  }

  // KVM_EXIT_DEBUG: struct kvm_debug_exit_arch { exception, pad, pc, dr6, dr7 }.
  get debugException(): number {
    return this.dv.getUint32(UNION, true);
  }
  get debugPc(): bigint {
    return this.dv.getBigUint64(UNION + 8, true);
  }

  // KVM_EXIT_SYSTEM_EVENT: type.
  get systemEventType(): number {
    return this.dv.getUint32(UNION, true);
  }

  // KVM_EXIT_UNKNOWN: hardware_exit_reason.
  get hardwareExitReason(): bigint {
    return this.dv.getBigUint64(UNION, true);
  }
}
