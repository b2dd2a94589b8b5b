// ELF32 and ELF64 executables (System V gABI, "ELF header" and "Program header"): PT_LOAD segments copied
// to their physical addresses, the rest zeroed. Every field read from the file is checked before use.
import type { ReservedRange } from "../arch/x86/layout.js";
import { UserError } from "../errors.js";
import type { GuestMemory } from "../memory/guest_memory.js";
import { checkPlacement, type LoadedImage } from "./placement.js";

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46]; // "\x7fELF"
const EI_CLASS = 4;
const EI_DATA = 5;
const ELFCLASS32 = 1;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ET_EXEC = 2;
const EM_386 = 3;
const EM_X86_64 = 62;
const PT_LOAD = 1;
const PT_NOTE = 4;
const VIRTUAL_ADDRESS_MASK = (1n << 48n) - 1n;

interface ElfLayout {
  headerSize: number;
  phentsize: number;
  machine: number;
}
const LAYOUT: Record<32 | 64, ElfLayout> = {
  32: { headerSize: 52, phentsize: 32, machine: EM_386 },
  64: { headerSize: 64, phentsize: 56, machine: EM_X86_64 },
};

export interface ElfSegment {
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
}

export interface ElfFile {
  bits: 32 | 64;
  entry: number;
  segments: ElfSegment[];
  /** PT_NOTE segments: where in the file the notes are. */
  notes: { offset: number; size: number }[];
}

export function isElf(data: Uint8Array): boolean {
  return data.length >= 4 && ELF_MAGIC.every((b, i) => data[i] === b);
}

export function parseElf(name: string, data: Uint8Array): ElfFile {
  const fail = (why: string): never => {
    throw new UserError(`${name}: ${why}`);
  };
  if (!isElf(data)) fail("not an ELF file");
  const klass = data[EI_CLASS];
  const bits = klass === ELFCLASS32 ? 32 : klass === ELFCLASS64 ? 64 : fail(`unknown ELF class ${klass}`);
  if (data[EI_DATA] !== ELFDATA2LSB) fail("not a little-endian ELF file");
  const layout = LAYOUT[bits];
  if (data.length < layout.headerSize) fail(`truncated ELF header (${data.length} bytes)`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const u16 = (at: number) => dv.getUint16(at, true);
  const u32 = (at: number) => dv.getUint32(at, true);
  const word = (at: number) => (bits === 32 ? u32(at) : u64(dv, at, name));
  // Virtual addresses of 64-bit kernels sit in the top of the address space (0xffffffff81000000): kept as their
  // low 48 bits, which identify a canonical address and keep differences within a segment exact.
  const vaddr = (at: number) => (bits === 32 ? u32(at) : Number(dv.getBigUint64(at, true) & VIRTUAL_ADDRESS_MASK));
  if (u16(16) !== ET_EXEC) fail(`not an executable (ELF type ${u16(16)})`);
  if (u16(18) !== layout.machine) fail(`ELF${bits} for machine ${u16(18)}, expected ${layout.machine}`);
  const entry = vaddr(24);
  const phoff = word(bits === 32 ? 28 : 32);
  const phentsize = u16(bits === 32 ? 42 : 54);
  const phnum = u16(bits === 32 ? 44 : 56);
  if (phnum === 0) fail("no program headers");
  if (phentsize < layout.phentsize) fail(`program header entry size ${phentsize} is too small`);
  if (phoff + phnum * phentsize > data.length) fail("program headers lie outside the file");

  const segments: ElfSegment[] = [];
  const notes: ElfFile["notes"] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (u32(at) === PT_NOTE) {
      const note =
        bits === 32 ? { offset: u32(at + 4), size: u32(at + 16) } : { offset: word(at + 8), size: word(at + 32) };
      if (note.offset + note.size > data.length) fail(`note segment ${i} lies outside the file`);
      notes.push(note);
    }
    if (u32(at) !== PT_LOAD) continue;
    const s =
      bits === 32
        ? { offset: u32(at + 4), vaddr: u32(at + 8), paddr: u32(at + 12), filesz: u32(at + 16), memsz: u32(at + 20) }
        : {
            offset: word(at + 8),
            vaddr: vaddr(at + 16),
            paddr: word(at + 24),
            filesz: word(at + 32),
            memsz: word(at + 40),
          };
    if (s.filesz > s.memsz) fail(`segment ${i}: file size exceeds memory size`);
    if (s.offset + s.filesz > data.length) fail(`segment ${i} lies outside the file`);
    if (s.memsz > 0) segments.push(s);
  }
  if (segments.length === 0) fail("no loadable segments");
  return { bits, entry, segments, notes };
}

function u64(dv: DataView, at: number, name: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new UserError(`${name}: ELF field 0x${v.toString(16)} is out of range`);
  return Number(v);
}

/** The physical address of a virtual one, through the segment that contains it. */
export function physicalAddress(elf: ElfFile, vaddr: number): number {
  const s = elf.segments.find((seg) => vaddr >= seg.vaddr && vaddr < seg.vaddr + seg.memsz);
  return s ? s.paddr + (vaddr - s.vaddr) : vaddr;
}

/** Loads a parsed ELF file's segments. */
export function loadElf(
  memory: GuestMemory,
  name: string,
  data: Uint8Array,
  elf: ElfFile,
  reserved: readonly ReservedRange[],
): LoadedImage {
  const placements = elf.segments.map((s) => ({ gpa: s.paddr, size: s.memsz }));
  checkPlacement(memory, name, placements, reserved);
  for (const s of elf.segments) {
    memory.write(s.paddr, data.subarray(s.offset, s.offset + s.filesz));
    memory.fill(s.paddr + s.filesz, s.memsz - s.filesz); // .bss
  }
  const end = Math.max(...placements.map((p) => p.gpa + p.size));
  return { entry: physicalAddress(elf, elf.entry), segments: placements, end };
}
