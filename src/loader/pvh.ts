// An uncompressed Linux (vmlinux, ELF64) through the PVH entry (Xen's HVM direct boot ABI, docs/misc/
// pvh.pandoc, as QEMU, Firecracker and cloud-hypervisor use it without Xen): the kernel announces a 32-bit
// entry point in an ELF note, XEN_ELFNOTE_PHYS32_ENTRY; the loader puts its segments at their physical
// addresses and hands the kernel a struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h) in
// EBX, in 32-bit protected mode with paging off. The start info gives the command line, the modules (the
// initrd), the ACPI RSDP and the memory map (the E820 one: memory_map.ts).
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
import { type ElfFile, loadElf } from "./elf.js";
import type { LoadedImage } from "./placement.js";

/** The ELF note: owner "Xen", type 18, a 32-bit physical entry address (as 4 or 8 bytes). */
const XEN_NOTE_NAME = "Xen";
export const XEN_ELFNOTE_PHYS32_ENTRY = 18;
const NOTE_HEADER_SIZE = 12; // namesz, descsz, type
const NOTE_ALIGN = 4;

// struct hvm_start_info, version 1 (the version with the memory map).
export const HVM_START_MAGIC = 0x336ec578;
const HVM_START_VERSION = 1;
const START_INFO = {
  magic: 0, // u32
  version: 4, // u32
  flags: 8, // u32
  nrModules: 12, // u32
  modlistPaddr: 16, // u64
  cmdlinePaddr: 24, // u64
  rsdpPaddr: 32, // u64
  memmapPaddr: 40, // u64
  memmapEntries: 48, // u32
};
const START_INFO_SIZE = 56;
// struct hvm_modlist_entry: paddr, size, cmdline_paddr, reserved (u64 each).
const MODLIST_ENTRY_SIZE = 32;
// struct hvm_memmap_table_entry: addr, size (u64), type, reserved (u32).
const MEMMAP_ENTRY_SIZE = 24;
// Where each part goes in the Linux boot information area.
const MODLIST_AT = LINUX_BOOT_INFO_ADDR + Math.ceil(START_INFO_SIZE / 0x40) * 0x40;
// One module (the initrd), then the memory map.
const MEMMAP_AT = MODLIST_AT + MODLIST_ENTRY_SIZE;
const MEMMAP_MAX_ENTRIES = (LINUX_CMDLINE_ADDR - MEMMAP_AT) / MEMMAP_ENTRY_SIZE;
const PAGE = 0x1000;

const hex = (n: number) => `0x${n.toString(16)}`;

/** The PVH entry point from the file's notes, or undefined when it has none. */
export function findPvhEntry(name: string, data: Uint8Array, elf: ElfFile): number | undefined {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const align = (n: number) => Math.ceil(n / NOTE_ALIGN) * NOTE_ALIGN;
  for (const { offset, size } of elf.notes) {
    let at = offset;
    while (at + NOTE_HEADER_SIZE <= offset + size) {
      const namesz = dv.getUint32(at, true);
      const descsz = dv.getUint32(at + 4, true);
      const type = dv.getUint32(at + 8, true);
      const nameAt = at + NOTE_HEADER_SIZE;
      const descAt = nameAt + align(namesz);
      const next = descAt + align(descsz);
      if (next > offset + size) throw new UserError(`${name}: an ELF note runs past its segment`);
      const owner = Buffer.from(data.subarray(nameAt, nameAt + Math.max(0, namesz - 1))).toString("latin1");
      if (owner === XEN_NOTE_NAME && type === XEN_ELFNOTE_PHYS32_ENTRY) {
        if (descsz !== 4 && descsz !== 8)
          throw new UserError(`${name}: the PVH entry note has ${descsz} bytes, not 4 or 8`);
        return dv.getUint32(descAt, true);
      }
      at = next;
    }
  }
  return undefined;
}

export interface PvhOptions {
  cmdline: string;
  initrd?: { name: string; data: Uint8Array };
  reserved: readonly ReservedRange[];
  /** Where the ACPI RSDP is; 0 without ACPI tables. */
  acpiRsdpAddr: number;
}

export interface PvhBoot extends LoadedImage {
  regs: Partial<Regs>;
}

export function loadPvh(
  memory: GuestMemory,
  name: string,
  data: Uint8Array,
  elf: ElfFile,
  entry: number,
  options: PvhOptions,
): PvhBoot {
  const cmdline = Buffer.from(`${options.cmdline}\0`, "latin1");
  if (cmdline.length > LINUX_BOOT_INFO_END - LINUX_CMDLINE_ADDR) {
    throw new UserError(`${name}: the command line (${cmdline.length - 1} bytes) is too long`);
  }
  const kernel = loadElf(memory, name, data, elf, options.reserved);
  if (!kernel.segments.some((s) => entry >= s.gpa && entry < s.gpa + s.size)) {
    throw new UserError(`${name}: the PVH entry point ${hex(entry)} lies outside the kernel's segments`);
  }
  const map = memoryMap(memory.regions);
  if (map.length > MEMMAP_MAX_ENTRIES) throw new RangeError(`${map.length} memory map entries are too many`);
  const high = map.find((e) => e.type === E820_RAM && e.addr === HIGH_MEMORY_START);
  const ramEnd = high ? high.addr + high.size : HIGH_MEMORY_START;

  memory.fill(LINUX_BOOT_INFO_ADDR, LINUX_CMDLINE_ADDR - LINUX_BOOT_INFO_ADDR);
  const info = LINUX_BOOT_INFO_ADDR;
  let end = kernel.end;
  if (options.initrd) {
    // As high in RAM below 4 GiB as it goes, page aligned, as a bzImage loader would put it.
    const size = options.initrd.data.length;
    const addr = Math.floor((ramEnd - size) / PAGE) * PAGE;
    if (addr < kernel.end) {
      throw new UserError(
        `${options.initrd.name}: ${hex(size)} bytes do not fit between the kernel (up to ${hex(kernel.end)}) and ${hex(ramEnd)}`,
      );
    }
    memory.write(addr, options.initrd.data);
    memory.writeU64(MODLIST_AT, BigInt(addr));
    memory.writeU64(MODLIST_AT + 8, BigInt(size));
    memory.writeU32(info + START_INFO.nrModules, 1);
    memory.writeU64(info + START_INFO.modlistPaddr, BigInt(MODLIST_AT));
    end = addr + size;
  }
  map.forEach((e, i) => {
    const at = MEMMAP_AT + i * MEMMAP_ENTRY_SIZE;
    memory.writeU64(at, BigInt(e.addr));
    memory.writeU64(at + 8, BigInt(e.size));
    memory.writeU32(at + 16, e.type);
  });
  memory.write(LINUX_CMDLINE_ADDR, cmdline);
  memory.writeU32(info + START_INFO.magic, HVM_START_MAGIC);
  memory.writeU32(info + START_INFO.version, HVM_START_VERSION);
  memory.writeU64(info + START_INFO.cmdlinePaddr, BigInt(LINUX_CMDLINE_ADDR));
  memory.writeU64(info + START_INFO.rsdpPaddr, BigInt(options.acpiRsdpAddr));
  memory.writeU64(info + START_INFO.memmapPaddr, BigInt(MEMMAP_AT));
  memory.writeU32(info + START_INFO.memmapEntries, map.length);
  return { segments: kernel.segments, entry, end, regs: { rbx: BigInt(info) } };
}
