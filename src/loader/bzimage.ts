// A Linux bzImage through the 64-bit boot protocol (Documentation/arch/x86/boot.rst): the setup header is
// checked field by field, the protected-mode part is loaded at its preferred address (or, when relocatable,
// at the lowest aligned address with init_size free), the initrd goes as high as initrd_addr_max and RAM
// allow, and the zero page carries the header, the command line, the initrd and the memory map. The kernel
// is entered at load address + 0x200 in long mode with RSI = the zero page (regs.ts, linux64Entry).
import {
  BOOT_FLAG,
  HDRS_MAGIC,
  LOADED_HIGH,
  SETUP_HEADER,
  SETUP_HEADER_FIXED_END,
  writeBootParams,
  XLF_KERNEL_64,
} from "../arch/x86/boot_params.js";
import type { Regs } from "../arch/x86/cpu_state.js";
import {
  HIGH_MEMORY_START,
  LINUX_BOOT_INFO_ADDR,
  LINUX_BOOT_INFO_END,
  LINUX_CMDLINE_ADDR,
  type ReservedRange,
} from "../arch/x86/layout.js";
import { E820_RAM, memoryMap } from "../arch/x86/memory_map.js";
import { UserError } from "../errors.js";
import type { GuestMemory } from "../memory/guest_memory.js";
import { checkPlacement, type LoadedImage } from "./placement.js";

const SECTOR = 512;
/** setup_sects of 0 means 4, for compatibility with the oldest images. */
const DEFAULT_SETUP_SECTS = 4;
/** Protocol 2.12 brought xloadflags, where XLF_KERNEL_64 announces the 64-bit entry. */
const MIN_PROTOCOL = 0x020c;
/** The 64-bit entry point, from the start of the protected-mode part. */
export const LINUX_64BIT_ENTRY_OFFSET = 0x200;
const PARAGRAPH = 16;
const PAGE = 0x1000;

const hex = (n: number) => `0x${n.toString(16)}`;
const version = (v: number) => `${v >> 8}.${(v & 0xff).toString().padStart(2, "0")}`;

/** Whether `data` claims to be a bzImage: the boot sector's 0xAA55 or the "HdrS" signature. */
export function looksLikeBzImage(data: Uint8Array): boolean {
  if (data.length < SETUP_HEADER.header + 4) return false;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return (
    dv.getUint16(SETUP_HEADER.bootFlag, true) === BOOT_FLAG || dv.getUint32(SETUP_HEADER.header, true) === HDRS_MAGIC
  );
}

export interface BzImageHeader {
  /** The setup header as the zero page gets it. */
  setupHeader: Uint8Array;
  /** The protected-mode part within the file. */
  kernel: Uint8Array;
  relocatable: boolean;
  alignment: number;
  prefAddress: number;
  initSize: number;
  initrdAddrMax: number;
  cmdlineSize: number;
}

/** Checks the setup header: one UserError naming the file and the field for each thing wrong. */
export function parseBzImage(name: string, data: Uint8Array): BzImageHeader {
  const fail = (why: string): never => {
    throw new UserError(`${name}: ${why}`);
  };
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < SETUP_HEADER_FIXED_END + 8) fail(`truncated bzImage (${data.length} bytes)`);
  const u8 = (at: number) => dv.getUint8(at);
  const u16 = (at: number) => dv.getUint16(at, true);
  const u32 = (at: number) => dv.getUint32(at, true);
  if (u16(SETUP_HEADER.bootFlag) !== BOOT_FLAG) {
    fail(`bzImage boot_flag is ${hex(u16(SETUP_HEADER.bootFlag))}, not 0xaa55`);
  }
  if (u32(SETUP_HEADER.header) !== HDRS_MAGIC) fail(`not a Linux bzImage: no "HdrS" signature at 0x202`);
  const protocol = u16(SETUP_HEADER.version);
  if (protocol < MIN_PROTOCOL) {
    fail(`boot protocol ${version(protocol)} is older than ${version(MIN_PROTOCOL)}, the first with the 64-bit entry`);
  }
  const headerEnd = SETUP_HEADER_FIXED_END + u8(SETUP_HEADER.jump + 1);
  if (headerEnd < SETUP_HEADER.initSize + 4 || headerEnd > data.length) {
    fail(`bzImage setup header length ${hex(headerEnd - SETUP_HEADER.setupSects)} is out of range`);
  }
  if (!(u16(SETUP_HEADER.xloadflags) & XLF_KERNEL_64)) {
    fail("bzImage has no 64-bit entry point (XLF_KERNEL_64 is clear in xloadflags)");
  }
  if (!(u8(SETUP_HEADER.loadflags) & LOADED_HIGH)) {
    fail("bzImage does not load high (LOADED_HIGH is clear in loadflags): a zImage");
  }
  const setupSects = u8(SETUP_HEADER.setupSects) || DEFAULT_SETUP_SECTS;
  const kernelStart = (setupSects + 1) * SECTOR;
  const syssize = u32(SETUP_HEADER.syssize) * PARAGRAPH;
  if (kernelStart >= data.length) fail(`bzImage setup_sects ${setupSects} reaches past the end of the file`);
  if (syssize === 0 || kernelStart + syssize > data.length) {
    fail(`bzImage syssize ${hex(syssize)} bytes does not fit in the file after the setup code`);
  }
  const relocatable = u8(SETUP_HEADER.relocatableKernel) !== 0;
  const alignment = u32(SETUP_HEADER.kernelAlignment);
  if (relocatable && (alignment < PAGE || (alignment & (alignment - 1)) !== 0)) {
    fail(`bzImage kernel_alignment ${hex(alignment)} is not a power of two of at least a page`);
  }
  const prefAddress = Number(dv.getBigUint64(SETUP_HEADER.prefAddress, true));
  const initSize = u32(SETUP_HEADER.initSize);
  if (initSize < syssize) fail(`bzImage init_size ${hex(initSize)} is smaller than the kernel (${hex(syssize)})`);
  return {
    setupHeader: data.slice(SETUP_HEADER.setupSects, headerEnd),
    kernel: data.subarray(kernelStart, kernelStart + syssize),
    relocatable,
    alignment,
    prefAddress,
    initSize,
    initrdAddrMax: u32(SETUP_HEADER.initrdAddrMax),
    cmdlineSize: u32(SETUP_HEADER.cmdlineSize),
  };
}

export interface BzImageOptions {
  cmdline: string;
  initrd?: { name: string; data: Uint8Array };
  reserved: readonly ReservedRange[];
  /** Where the ACPI RSDP is; 0 without ACPI tables. */
  acpiRsdpAddr: number;
}

export interface BzImageBoot extends LoadedImage {
  regs: Partial<Regs>;
}

export function loadBzImage(memory: GuestMemory, name: string, data: Uint8Array, options: BzImageOptions): BzImageBoot {
  const h = parseBzImage(name, data);
  const cmdline = Buffer.from(`${options.cmdline}\0`, "latin1");
  const cmdlineRoom = Math.min(h.cmdlineSize + 1, LINUX_BOOT_INFO_END - LINUX_CMDLINE_ADDR);
  if (cmdline.length > cmdlineRoom) {
    throw new UserError(`${name}: the command line (${cmdline.length - 1} bytes) is longer than ${cmdlineRoom - 1}`);
  }
  const map = memoryMap(memory.regions);
  // The RAM above 1 MiB that the kernel and the initrd share.
  const high = map.find((e) => e.type === E820_RAM && e.addr === HIGH_MEMORY_START);
  const ramEnd = high ? high.addr + high.size : HIGH_MEMORY_START;
  const loadAddr = chooseLoadAddress(name, h, ramEnd);
  const kernelEnd = loadAddr + h.initSize;
  checkPlacement(memory, name, [{ gpa: loadAddr, size: h.initSize }], options.reserved);
  memory.write(loadAddr, h.kernel);
  memory.fill(loadAddr + h.kernel.length, h.initSize - h.kernel.length);

  let ramdisk: { addr: number; size: number } | undefined;
  if (options.initrd) {
    const size = options.initrd.data.length;
    const limit = Math.min(ramEnd, h.initrdAddrMax + 1);
    const addr = Math.floor((limit - size) / PAGE) * PAGE;
    if (addr < kernelEnd) {
      throw new UserError(
        `${options.initrd.name}: ${hex(size)} bytes do not fit between the kernel (up to ${hex(kernelEnd)}) and ${hex(limit)}`,
      );
    }
    memory.write(addr, options.initrd.data);
    ramdisk = { addr, size };
  }
  memory.write(LINUX_CMDLINE_ADDR, cmdline);
  writeBootParams(memory, LINUX_BOOT_INFO_ADDR, {
    setupHeader: h.setupHeader,
    cmdLinePtr: LINUX_CMDLINE_ADDR,
    ...(ramdisk && { ramdisk }),
    loadAddr,
    e820: map,
    acpiRsdpAddr: options.acpiRsdpAddr,
  });
  const end = ramdisk ? ramdisk.addr + ramdisk.size : kernelEnd;
  return {
    segments: [{ gpa: loadAddr, size: h.initSize }],
    entry: loadAddr + LINUX_64BIT_ENTRY_OFFSET,
    end,
    regs: { rsi: BigInt(LINUX_BOOT_INFO_ADDR) },
  };
}

/**
 * pref_address when the kernel fits there (init_size of RAM free), else, for a relocatable kernel, the
 * lowest address from 1 MiB up aligned to kernel_alignment; a kernel that cannot move must fit where it asks.
 */
function chooseLoadAddress(name: string, h: BzImageHeader, ramEnd: number): number {
  const fits = (at: number) => at >= HIGH_MEMORY_START && at + h.initSize <= ramEnd;
  if (fits(h.prefAddress)) return h.prefAddress;
  if (h.relocatable) {
    const aligned = Math.ceil(HIGH_MEMORY_START / h.alignment) * h.alignment;
    if (fits(aligned)) return aligned;
  }
  throw new UserError(
    `${name}: the kernel needs ${hex(h.initSize)} bytes (init_size) from ${hex(h.relocatable ? HIGH_MEMORY_START : h.prefAddress)}: more than guest RAM has (it ends at ${hex(ramEnd)})`,
  );
}
