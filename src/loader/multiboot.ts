// Multiboot v1 (Multiboot Specification 0.6.96): the header in the first 8 KiB, the kernel loaded by its
// a.out-kludge address fields (flag 16) or its ELF program headers, modules after it, and a Multiboot
// information structure with the memory map, command line and module list for the kernel to read.
import { MULTIBOOT_INFO_ADDR, MULTIBOOT_INFO_RANGE, type ReservedRange } from "../arch/x86/layout.js";
import { conventionalAndExtended, memoryMap } from "../arch/x86/memory_map.js";
import { UserError } from "../errors.js";
import type { GuestMemory } from "../memory/guest_memory.js";
import { isElf, loadElf, parseElf } from "./elf.js";
import { checkPlacement, type LoadedImage } from "./placement.js";

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
/** EAX at kernel entry. */
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
const HEADER_SEARCH_LIMIT = 8192;

// Header flags.
const HEADER_PAGE_ALIGN = 1 << 0;
const HEADER_MEMORY_INFO = 1 << 1;
const HEADER_VIDEO_MODE = 1 << 2;
const HEADER_AOUT_KLUDGE = 1 << 16;
/** Requirement bits (0-15) this loader honours; others it cannot meet (video is ignored, as QEMU does). */
const HEADER_SUPPORTED_REQUIREMENTS = HEADER_PAGE_ALIGN | HEADER_MEMORY_INFO | HEADER_VIDEO_MODE;

// Information structure flags and offsets.
const INFO_MEMORY = 1 << 0;
const INFO_BOOT_DEVICE = 1 << 1;
const INFO_CMDLINE = 1 << 2;
const INFO_MODS = 1 << 3;
const INFO_MEM_MAP = 1 << 6;
const INFO_LOADER_NAME = 1 << 9;
const INFO = {
  flags: 0,
  memLower: 4,
  memUpper: 8,
  bootDevice: 12,
  cmdline: 16,
  modsCount: 20,
  modsAddr: 24,
  mmapLength: 44,
  mmapAddr: 48,
  bootLoaderName: 64,
};
const INFO_SIZE = 0x100;
const MODULE_ENTRY_SIZE = 16;
const MMAP_ENTRY_SIZE = 24; // the size field (4) + base (8) + length (8) + type (4)
const KIB_SHIFT = 10;
const PAGE = 0x1000;

// Where things go inside the Multiboot information area.
const MMAP_AT = MULTIBOOT_INFO_ADDR + INFO_SIZE;
const MODS_AT = MULTIBOOT_INFO_ADDR + 0x400;
const LOADER_NAME_AT = MULTIBOOT_INFO_ADDR + 0xc00;
const STRINGS_AT = MULTIBOOT_INFO_ADDR + 0x1000;
const STRINGS_END = MULTIBOOT_INFO_RANGE.gpa + MULTIBOOT_INFO_RANGE.size;
const MAX_MODULES = (LOADER_NAME_AT - MODS_AT) / MODULE_ENTRY_SIZE;
const LOADER_NAME = "tsvmm";
/** QEMU's boot_device: BIOS drive 0x80 (the first hard disk), no partition (0xff in each level). */
const BOOT_DEVICE = 0x8000ffff;

export interface MultibootHeader {
  offset: number;
  flags: number;
  /** The a.out kludge fields, present with flag 16. */
  aout?: { headerAddr: number; loadAddr: number; loadEndAddr: number; bssEndAddr: number; entryAddr: number };
}

export interface MultibootModule {
  name: string;
  data: Uint8Array;
  /** The module's string (its command line); the file name when omitted. */
  args?: string;
}

export interface MultibootBoot extends LoadedImage {
  /** EBX at entry. */
  infoAddr: number;
}

/** Finds the Multiboot header; undefined when there is none, an error when its checksum is wrong. */
export function findMultibootHeader(name: string, data: Uint8Array): MultibootHeader | undefined {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const limit = Math.min(HEADER_SEARCH_LIMIT, data.length) - 12;
  let badChecksum = false;
  for (let at = 0; at <= limit; at += 4) {
    if (dv.getUint32(at, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = dv.getUint32(at + 4, true);
    const checksum = dv.getUint32(at + 8, true);
    if ((MULTIBOOT_HEADER_MAGIC + flags + checksum) >>> 0 !== 0) {
      badChecksum = true;
      continue;
    }
    if (!(flags & HEADER_AOUT_KLUDGE)) return { offset: at, flags };
    if (at + 32 > data.length) throw new UserError(`${name}: truncated Multiboot header`);
    const f = (i: number) => dv.getUint32(at + 12 + i * 4, true);
    return {
      offset: at,
      flags,
      aout: { headerAddr: f(0), loadAddr: f(1), loadEndAddr: f(2), bssEndAddr: f(3), entryAddr: f(4) },
    };
  }
  if (badChecksum) throw new UserError(`${name}: bad Multiboot header checksum`);
  return undefined;
}

export function loadMultiboot(
  memory: GuestMemory,
  name: string,
  data: Uint8Array,
  header: MultibootHeader,
  options: { cmdline: string; modules: readonly MultibootModule[]; reserved: readonly ReservedRange[] },
): MultibootBoot {
  const unsupported = header.flags & 0xffff & ~HEADER_SUPPORTED_REQUIREMENTS;
  if (unsupported) {
    throw new UserError(
      `${name}: Multiboot header requires features tsvmm lacks (flags 0x${unsupported.toString(16)})`,
    );
  }
  const reserved = [...options.reserved, MULTIBOOT_INFO_RANGE];
  const kernel = header.aout
    ? loadAout(memory, name, data, header.offset, header.aout, reserved)
    : loadMultibootElf(memory, name, data, reserved);
  const modules = loadModules(memory, options.modules, alignUp(kernel.end, PAGE), reserved);
  const infoAddr = writeInfo(memory, name, options.cmdline, modules);
  return { ...kernel, end: modules.at(-1)?.end ?? kernel.end, infoAddr };
}

function loadMultibootElf(
  memory: GuestMemory,
  name: string,
  data: Uint8Array,
  reserved: readonly ReservedRange[],
): LoadedImage {
  if (!isElf(data)) throw new UserError(`${name}: Multiboot kernel is neither ELF nor uses the a.out kludge (flag 16)`);
  const elf = parseElf(name, data);
  if (elf.bits !== 32) throw new UserError(`${name}: a Multiboot ELF kernel must be ELF32`);
  return loadElf(memory, name, data, elf, reserved);
}

function loadAout(
  memory: GuestMemory,
  name: string,
  data: Uint8Array,
  headerOffset: number,
  a: NonNullable<MultibootHeader["aout"]>,
  reserved: readonly ReservedRange[],
): LoadedImage {
  const fail = (why: string): never => {
    throw new UserError(`${name}: Multiboot a.out fields: ${why}`);
  };
  if (a.headerAddr < a.loadAddr) fail("header_addr is below load_addr");
  const fileStart = headerOffset - (a.headerAddr - a.loadAddr);
  if (fileStart < 0) fail("load_addr lies before the start of the file");
  const loadEnd = a.loadEndAddr === 0 ? a.loadAddr + (data.length - fileStart) : a.loadEndAddr;
  if (loadEnd < a.loadAddr) fail("load_end_addr is below load_addr");
  const loadSize = loadEnd - a.loadAddr;
  if (fileStart + loadSize > data.length) fail("the text and data extend beyond the end of the file");
  const bssEnd = a.bssEndAddr === 0 ? loadEnd : a.bssEndAddr;
  if (bssEnd < loadEnd) fail("bss_end_addr is below load_end_addr");
  if (a.entryAddr < a.loadAddr || a.entryAddr >= bssEnd) fail("entry_addr lies outside the image");
  const segment = { gpa: a.loadAddr, size: bssEnd - a.loadAddr };
  checkPlacement(memory, name, [segment], reserved);
  memory.write(a.loadAddr, data.subarray(fileStart, fileStart + loadSize));
  memory.fill(loadEnd, bssEnd - loadEnd);
  return { segments: [segment], entry: a.entryAddr, end: bssEnd };
}

interface PlacedModule {
  gpa: number;
  end: number;
  args: string;
}

function loadModules(
  memory: GuestMemory,
  modules: readonly MultibootModule[],
  start: number,
  reserved: readonly ReservedRange[],
): PlacedModule[] {
  if (modules.length > MAX_MODULES) throw new UserError(`too many Multiboot modules (at most ${MAX_MODULES})`);
  const placed: PlacedModule[] = [];
  let at = start;
  for (const m of modules) {
    // An empty module still gets an address; it just occupies no bytes.
    checkPlacement(memory, m.name, [{ gpa: at, size: Math.max(m.data.length, 1) }], reserved);
    memory.write(at, m.data);
    placed.push({ gpa: at, end: at + m.data.length, args: m.args ?? m.name });
    at = alignUp(at + m.data.length, PAGE);
  }
  return placed;
}

function writeInfo(memory: GuestMemory, name: string, cmdline: string, modules: readonly PlacedModule[]): number {
  memory.fill(MULTIBOOT_INFO_ADDR, MULTIBOOT_INFO_RANGE.size);
  const info = MULTIBOOT_INFO_ADDR;
  const set = (field: number, value: number) => memory.writeU32(info + field, value);

  let strings = STRINGS_AT;
  const putString = (s: string): number => {
    const bytes = Buffer.from(`${s}\0`, "latin1");
    if (strings + bytes.length > STRINGS_END) {
      throw new UserError(`${name}: command line and module strings exceed ${STRINGS_END - STRINGS_AT} bytes`);
    }
    const at = strings;
    memory.write(at, bytes);
    strings += bytes.length;
    return at;
  };

  // The machine's one memory map (memory_map.ts): Multiboot's types are the E820 ones.
  const map = memoryMap(memory.regions);
  map.forEach(({ addr, size, type }, i) => {
    const e = MMAP_AT + i * MMAP_ENTRY_SIZE;
    memory.writeU32(e, MMAP_ENTRY_SIZE - 4); // size excludes the size field itself
    memory.writeU64(e + 4, BigInt(addr));
    memory.writeU64(e + 12, BigInt(size));
    memory.writeU32(e + 20, type);
  });
  const { lower, upper } = conventionalAndExtended(map);
  set(INFO.memLower, lower >> KIB_SHIFT);
  set(INFO.memUpper, upper >> KIB_SHIFT);
  set(INFO.mmapAddr, MMAP_AT);
  set(INFO.mmapLength, map.length * MMAP_ENTRY_SIZE);
  set(INFO.cmdline, putString(cmdline));
  modules.forEach((m, i) => {
    const e = MODS_AT + i * MODULE_ENTRY_SIZE;
    memory.writeU32(e, m.gpa);
    memory.writeU32(e + 4, m.end);
    memory.writeU32(e + 8, putString(m.args));
  });
  set(INFO.modsCount, modules.length);
  set(INFO.modsAddr, MODS_AT);
  memory.write(LOADER_NAME_AT, Buffer.from(`${LOADER_NAME}\0`, "latin1"));
  set(INFO.bootLoaderName, LOADER_NAME_AT);
  set(INFO.bootDevice, BOOT_DEVICE);
  set(INFO.flags, INFO_MEMORY | INFO_BOOT_DEVICE | INFO_CMDLINE | INFO_MODS | INFO_MEM_MAP | INFO_LOADER_NAME);
  return info;
}

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
