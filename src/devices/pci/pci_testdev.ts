// QEMU's `pci-testdev` (hw/misc/pci-testdev.c; vendor 0x1b36 Red Hat, device 0x0005): a PCI function with
// a 4 KiB memory BAR (BAR0) and a 256-port I/O BAR (BAR1), both serving the same small protocol with which
// kvm-unit-tests measure how fast and how correctly a VMM delivers MMIO and port writes:
// - six tests, "mmio-no-eventfd", "mmio-wildcard-eventfd", "mmio-datamatch-eventfd" and the same three
//   "portio-..."; writing N (0-2) to offset 0 of a BAR selects test N of that BAR's kind and zeroes its
//   counter, anything else deselects;
// - the selected test's header reads back from offset 0 of either BAR, a byte at a time (wider accesses are
//   split into bytes, as QEMU's impl.max_access_size of 1 does):
//     0 test number, 1 access width (1), 4-7 the offset to write to, 8 the data to write (0xfa when the
//     test matches data, 0xce when not), 12-15 a hit counter, 16.. the test's name, NUL-terminated;
//   offsets from the last byte of the name on read as 0, as does everything while no test is selected;
// - a byte write at the test's offset (2048 + N in BAR0, 128 + N in BAR1) whose value matches the data
//   (or any value for the wildcard test) counts one hit.
// QEMU under KVM hands the "-eventfd" tests' writes to an ioeventfd that the guest never sees counted, and
// kvm-unit-tests accept a count of 0 as well as one per write; this model counts every test's hits.
import type { BusDevice } from "../../bus/io_bus.js";
import { ConfigSpace } from "./config_space.js";

export const PCI_VENDOR_ID_REDHAT = 0x1b36;
export const PCI_DEVICE_ID_REDHAT_TEST = 0x0005;
const PCI_CLASS_OTHERS = 0xff0000;

export const PCI_TESTDEV_MMIO_SIZE = 0x1000; // BAR0: 2 x IOTEST_MEMSIZE (2048)
export const PCI_TESTDEV_IO_SIZE = 0x100; // BAR1: 2 x IOTEST_IOSIZE (128)
const MMIO_TEST_OFFSET = 2048;
const IO_TEST_OFFSET = 128;

// The header (QEMU's PCITestDevHdr).
export const HDR_TEST = 0;
export const HDR_WIDTH = 1;
export const HDR_OFFSET = 4;
export const HDR_DATA = 8;
export const HDR_COUNT = 12;
export const HDR_NAME = 16;

const DATAMATCH = 0xfa;
const NOMATCH = 0xce;
const TEST_KINDS = ["no-eventfd", "wildcard-eventfd", "datamatch-eventfd"] as const;
const REGION_KINDS = ["mmio", "portio"] as const;
type Region = 0 | 1; // mmio, portio

interface IoTest {
  header: Uint8Array;
  offset: number;
  data: number;
  matchData: boolean;
}

function makeTest(index: number): IoTest {
  const region = Math.floor(index / TEST_KINDS.length) as Region;
  const kind = TEST_KINDS[index % TEST_KINDS.length] as (typeof TEST_KINDS)[number];
  const name = `${REGION_KINDS[region]}-${kind}`;
  const header = new Uint8Array(HDR_NAME + name.length + 1);
  const view = new DataView(header.buffer);
  const matchData = kind !== "wildcard-eventfd";
  const offset = (region === 0 ? MMIO_TEST_OFFSET : IO_TEST_OFFSET) + index;
  const data = matchData ? DATAMATCH : NOMATCH;
  header[HDR_TEST] = index;
  header[HDR_WIDTH] = 1;
  view.setUint32(HDR_OFFSET, offset, true);
  header[HDR_DATA] = data;
  header.set(Buffer.from(name, "latin1"), HDR_NAME);
  return { header, offset, data, matchData };
}

export interface PciTestdevSnapshot {
  current: number;
  counts: number[];
}

export class PciTestdev {
  readonly config = new ConfigSpace(
    { vendorId: PCI_VENDOR_ID_REDHAT, deviceId: PCI_DEVICE_ID_REDHAT_TEST, classCode: PCI_CLASS_OTHERS },
    [
      { kind: "mmio", size: PCI_TESTDEV_MMIO_SIZE },
      { kind: "io", size: PCI_TESTDEV_IO_SIZE },
    ],
  );
  private readonly tests = Array.from({ length: TEST_KINDS.length * REGION_KINDS.length }, (_, i) => makeTest(i));
  /** The selected test, or -1. */
  private current = -1;

  /** BAR0 and BAR1 as bus devices. */
  readonly regions: BusDevice[] = [this.region(0), this.region(1)];

  /** The hit counter of test `index` (for tests). */
  count(index: number): number {
    const t = this.tests[index];
    return t ? new DataView(t.header.buffer).getUint32(HDR_COUNT, true) : 0;
  }

  get selected(): number {
    return this.current;
  }

  reset(): void {
    this.current = -1;
  }

  private region(type: Region): BusDevice {
    return {
      read: (offset, data) => {
        for (let i = 0; i < data.length; i++) data[i] = this.readByte(offset + i);
      },
      write: (offset, data) => {
        for (let i = 0; i < data.length; i++) this.writeByte(type, offset + i, data[i] as number);
      },
    };
  }

  private readByte(offset: number): number {
    const test = this.tests[this.current];
    if (!test || offset + 1 >= test.header.length) return 0;
    return test.header[offset] as number;
  }

  private writeByte(type: Region, offset: number, value: number): void {
    if (offset === HDR_TEST) {
      this.current = -1;
      if (value >= TEST_KINDS.length) return;
      const index = type * TEST_KINDS.length + value;
      new DataView((this.tests[index] as IoTest).header.buffer).setUint32(HDR_COUNT, 0, true);
      this.current = index;
      return;
    }
    const test = this.tests[this.current];
    if (!test || offset !== test.offset) return;
    if (test.matchData && value !== test.data) return;
    const view = new DataView(test.header.buffer);
    view.setUint32(HDR_COUNT, (view.getUint32(HDR_COUNT, true) + 1) >>> 0, true);
  }

  snapshot(): PciTestdevSnapshot {
    return { current: this.current, counts: this.tests.map((_, i) => this.count(i)) };
  }

  restore(s: PciTestdevSnapshot): void {
    this.current = s.current;
    s.counts.forEach((c, i) => {
      const t = this.tests[i];
      if (t) new DataView(t.header.buffer).setUint32(HDR_COUNT, c >>> 0, true);
    });
  }
}
