// QEMU's `pc-testdev` (hw/misc/pc-testdev.c), the ISA device kvm-unit-tests drive to test the CPU's I/O and
// MMIO emulation and interrupt routing. Four register blocks, each a BusDevice the VMM puts on the bus:
// - a 32-bit data register at 0xe0-0xe3: an access of 1, 2 or 4 bytes at port 0xe0+n reads or writes the
//   byte lanes n.. of that register, so what a dword wrote reads back a byte or a word at a time;
//   the same register again at 0xe8-0xeb, which QEMU serves a byte at a time (the result is the same);
// - a "flush page" register at 0xe4 (dword writes only): QEMU mprotects the host page behind the written
//   guest-physical address to none and back, which only makes KVM drop its mappings of that page. It
//   changes nothing the guest can observe, so here it only counts the flushes (and remembers the page);
// - 24 IRQ-line registers at 0x2000-0x2017 (byte writes only): writing V to 0x2000+n sets ISA line n to
//   V != 0 through the machine's interrupt controllers;
// - a 64 KiB memory window at 0xff000000 (IOMEM_LEN is 0x10000 in QEMU) that reads back what was written.
import type { BusDevice } from "../../bus/io_bus.js";

export const PC_TESTDEV_DATA_PORT = 0xe0;
export const PC_TESTDEV_FLUSH_PORT = 0xe4;
export const PC_TESTDEV_DATA_BYTE_PORT = 0xe8;
export const PC_TESTDEV_REGISTER_SIZE = 4;
export const PC_TESTDEV_IRQ_PORT = 0x2000;
export const PC_TESTDEV_IRQ_LINES = 24;
export const PC_TESTDEV_IOMEM_BASE = 0xff000000;
export const PC_TESTDEV_IOMEM_SIZE = 0x10000;

export interface PcTestdevSnapshot {
  data: number;
  iomem: number[];
  flushes: number;
}

export class PcTestdev {
  /** The data register behind 0xe0 and 0xe8. */
  private data = 0;
  private readonly iomemBuffer = new Uint8Array(PC_TESTDEV_IOMEM_SIZE);
  /** Page flushes the guest asked for, and the last page (for tests and tracing). */
  flushes = 0;
  lastFlushedPage = -1;

  /** `setIrq(line, level)` raises or lowers an ISA line; absent without interrupt controllers. */
  constructor(private readonly setIrq?: (line: number, level: boolean) => void) {}

  /** The data register's block (0xe0, and 0xe8 for the byte-wise copy). */
  readonly dataRegister: BusDevice = {
    read: (offset, bytes) => {
      for (let i = 0; i < bytes.length; i++) {
        const lane = offset + i;
        bytes[i] = lane < 4 ? (this.data >>> (lane * 8)) & 0xff : 0;
      }
    },
    write: (offset, bytes) => {
      for (let i = 0; i < bytes.length; i++) {
        const lane = offset + i;
        if (lane >= 4) break;
        const shift = lane * 8;
        this.data = ((this.data & ~(0xff << shift)) | ((bytes[i] as number) << shift)) >>> 0;
      }
    },
  };

  /** The flush-page register at 0xe4: dword writes at offset 0 only; reads see nothing (all ones). */
  readonly flushRegister: BusDevice = {
    read: (_offset, bytes) => {
      bytes.fill(0xff);
    },
    write: (offset, bytes) => {
      if (offset !== 0 || bytes.length !== 4) return;
      const address =
        ((bytes[0] as number) |
          ((bytes[1] as number) << 8) |
          ((bytes[2] as number) << 16) |
          ((bytes[3] as number) << 24)) >>>
        0;
      this.lastFlushedPage = address - (address % 0x1000);
      this.flushes++;
    },
  };

  /** The IRQ-line registers at 0x2000: a byte write per line; write-only. */
  readonly irqLines: BusDevice = {
    read: (_offset, bytes) => {
      bytes.fill(0xff);
    },
    write: (offset, bytes) => {
      if (bytes.length !== 1 || offset >= PC_TESTDEV_IRQ_LINES) return;
      this.setIrq?.(offset, bytes[0] !== 0);
    },
  };

  /** The 64 KiB memory window: little-endian read-back at any width. */
  readonly iomem: BusDevice = {
    read: (offset, bytes) => {
      for (let i = 0; i < bytes.length; i++) {
        const at = offset + i;
        bytes[i] = at < PC_TESTDEV_IOMEM_SIZE ? (this.iomemBuffer[at] as number) : 0;
      }
    },
    write: (offset, bytes) => {
      const room = PC_TESTDEV_IOMEM_SIZE - offset;
      this.iomemBuffer.set(room < bytes.length ? bytes.subarray(0, Math.max(0, room)) : bytes, offset);
    },
  };

  get dataValue(): number {
    return this.data;
  }

  snapshot(): PcTestdevSnapshot {
    return { data: this.data, iomem: Array.from(this.iomemBuffer), flushes: this.flushes };
  }

  restore(s: PcTestdevSnapshot): void {
    this.data = s.data >>> 0;
    this.iomemBuffer.set(s.iomem.slice(0, PC_TESTDEV_IOMEM_SIZE));
    this.flushes = s.flushes;
  }
}
