// Linux's zero page, struct boot_params (arch/x86/include/uapi/asm/bootparam.h; Documentation/arch/x86/
// zero-page.rst and boot.rst): the 4 KiB a boot loader hands the kernel in RSI. It holds a copy of the
// image's setup header (struct setup_header at 0x1f1, the same offset as in the bzImage), completed with
// what the loader decided: where the command line and the initrd are, who loaded it, the E820 memory map
// and where the ACPI RSDP is.
import type { GuestMemory } from "../../memory/guest_memory.js";
import type { E820Entry } from "./memory_map.js";

export const BOOT_PARAMS_SIZE = 0x1000;

// struct boot_params.
const ACPI_RSDP_ADDR = 0x070; // u64, protocol 2.14
const E820_ENTRIES = 0x1e8; // u8
const E820_TABLE = 0x2d0; // struct boot_e820_entry[E820_MAX_ENTRIES_ZEROPAGE]
const E820_ENTRY_SIZE = 20; // u64 addr, u64 size, u32 type (packed)
export const E820_MAX_ENTRIES_ZEROPAGE = 128;

/** struct setup_header, at these offsets in both the bzImage and the zero page. */
export const SETUP_HEADER = {
  setupSects: 0x1f1, // u8: 512-byte sectors of real-mode setup after the boot sector (0 means 4)
  syssize: 0x1f4, // u32: the protected-mode part in 16-byte paragraphs
  bootFlag: 0x1fe, // u16: 0xAA55
  jump: 0x200, // u16: a short jump; its second byte is the header's length past 0x202
  header: 0x202, // u32: "HdrS"
  version: 0x206, // u16: the boot protocol version, major << 8 | minor
  typeOfLoader: 0x210, // u8
  loadflags: 0x211, // u8
  code32Start: 0x214, // u32
  ramdiskImage: 0x218, // u32
  ramdiskSize: 0x21c, // u32
  cmdLinePtr: 0x228, // u32
  initrdAddrMax: 0x22c, // u32: the highest address the initrd may occupy
  kernelAlignment: 0x230, // u32
  relocatableKernel: 0x234, // u8
  xloadflags: 0x236, // u16
  cmdlineSize: 0x238, // u32: the longest command line, without its NUL
  prefAddress: 0x258, // u64: the preferred load address
  initSize: 0x260, // u32: the memory the kernel needs from its load address while it decompresses and runs
} as const;
/** The fixed part of the header up to `header` and `version`; `jump`'s second byte gives the rest. */
export const SETUP_HEADER_FIXED_END = 0x202;

export const BOOT_FLAG = 0xaa55;
export const HDRS_MAGIC = 0x53726448; // "HdrS"
/** The boot loader ID "undefined" (boot.rst, type_of_loader): tsvmm has none assigned. */
export const LOADER_TYPE_UNDEFINED = 0xff;

// loadflags and xloadflags bits.
export const LOADED_HIGH = 1 << 0; // the protected-mode code loads at 0x100000 or above
export const XLF_KERNEL_64 = 1 << 0; // the kernel has the 64-bit entry at load address + 0x200

export interface ZeroPage {
  /** The image's setup header, from 0x1f1 to its end, copied as it is. */
  setupHeader: Uint8Array;
  cmdLinePtr: number;
  ramdisk?: { addr: number; size: number };
  /** The protected-mode part's load address (code32_start). */
  loadAddr: number;
  e820: readonly E820Entry[];
  /** 0 when there are no ACPI tables. */
  acpiRsdpAddr: number;
}

/** Writes the zero page at `at`. */
export function writeBootParams(memory: GuestMemory, at: number, page: ZeroPage): void {
  if (page.e820.length > E820_MAX_ENTRIES_ZEROPAGE) {
    throw new RangeError(`${page.e820.length} memory map entries exceed the zero page's ${E820_MAX_ENTRIES_ZEROPAGE}`);
  }
  memory.fill(at, BOOT_PARAMS_SIZE);
  memory.write(at + SETUP_HEADER.setupSects, page.setupHeader);
  memory.writeU8(at + SETUP_HEADER.typeOfLoader, LOADER_TYPE_UNDEFINED);
  memory.writeU32(at + SETUP_HEADER.code32Start, page.loadAddr);
  memory.writeU32(at + SETUP_HEADER.cmdLinePtr, page.cmdLinePtr);
  memory.writeU32(at + SETUP_HEADER.ramdiskImage, page.ramdisk?.addr ?? 0);
  memory.writeU32(at + SETUP_HEADER.ramdiskSize, page.ramdisk?.size ?? 0);
  memory.writeU64(at + ACPI_RSDP_ADDR, BigInt(page.acpiRsdpAddr));
  memory.writeU8(at + E820_ENTRIES, page.e820.length);
  page.e820.forEach((e, i) => {
    const entry = at + E820_TABLE + i * E820_ENTRY_SIZE;
    memory.writeU64(entry, BigInt(e.addr));
    memory.writeU64(entry + 8, BigInt(e.size));
    memory.writeU32(entry + 16, e.type);
  });
}
