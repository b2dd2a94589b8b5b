// Tiny images in the two Linux boot formats, to test the loaders without a kernel and to derive malformed
// ones from: a bzImage whose 64-bit entry (load address + 0x200) reports what it finds in the zero page, and
// an ELF64 with the PVH entry note whose 32-bit entry checks the hvm_start_info magic in EBX.

/** Setup header offsets (Documentation/arch/x86/boot.rst), for tests to break one field at a time. */
export const HDR = {
  setupSects: 0x1f1,
  syssize: 0x1f4,
  bootFlag: 0x1fe,
  jump: 0x200,
  header: 0x202,
  version: 0x206,
  loadflags: 0x211,
  initrdAddrMax: 0x22c,
  kernelAlignment: 0x230,
  relocatable: 0x234,
  xloadflags: 0x236,
  cmdlineSize: 0x238,
  prefAddress: 0x258,
  initSize: 0x260,
} as const;

const SETUP_SECTS = 1;
const SECTOR = 512;
const HEADER_END = 0x26c;
export const BZ_PREF_ADDRESS = 0x1000000;

/**
 * 64-bit code at the protected-mode part's offset 0x200: reads the zero page's type_of_loader (RSI + 0x210),
 * XORs it with 0xf0 and writes it to isa-debug-exit: 0xff from tsvmm makes exit code 0x0f, status 31.
 */
const ENTRY_64 = [0x0f, 0xb6, 0x86, 0x10, 0x02, 0x00, 0x00, 0x34, 0xf0, 0xe6, 0xf4, 0xf4];
export const BZ_EXPECTED_STATUS = (0x0f << 1) | 1;

export function makeBzImage(initSize = 0x100000): Uint8Array {
  const kernel = new Uint8Array(0x400);
  kernel.set(ENTRY_64, 0x200);
  const out = new Uint8Array((SETUP_SECTS + 1) * SECTOR + kernel.length);
  const dv = new DataView(out.buffer);
  out[HDR.setupSects] = SETUP_SECTS;
  dv.setUint32(HDR.syssize, kernel.length / 16, true);
  dv.setUint16(HDR.bootFlag, 0xaa55, true);
  out[HDR.jump] = 0xeb;
  out[HDR.jump + 1] = HEADER_END - 0x202;
  out.set(Buffer.from("HdrS", "latin1"), HDR.header);
  dv.setUint16(HDR.version, 0x020f, true);
  out[HDR.loadflags] = 0x01; // LOADED_HIGH
  dv.setUint32(HDR.initrdAddrMax, 0x7fffffff, true);
  dv.setUint32(HDR.kernelAlignment, 0x200000, true);
  out[HDR.relocatable] = 1;
  dv.setUint16(HDR.xloadflags, 0x1, true); // XLF_KERNEL_64
  dv.setUint32(HDR.cmdlineSize, 2047, true);
  dv.setBigUint64(HDR.prefAddress, BigInt(BZ_PREF_ADDRESS), true);
  dv.setUint32(HDR.initSize, initSize, true);
  out.set(kernel, (SETUP_SECTS + 1) * SECTOR);
  return out;
}

/** A copy of `image` with `edit` applied to its bytes. */
export function edited(image: Uint8Array, edit: (dv: DataView, bytes: Uint8Array) => void): Uint8Array {
  const copy = image.slice();
  edit(new DataView(copy.buffer), copy);
  return copy;
}

/**
 * 32-bit code at the PVH entry: exit code 0x0b when EBX points at the hvm_start_info magic, else 0x0e.
 *   cmpl $0x336ec578, (%ebx); mov $0x0b, %al; je 1f; mov $0x0e, %al; 1: out %al, $0xf4; hlt
 */
const PVH_ENTRY_32 = [0x81, 0x3b, 0x78, 0xc5, 0x6e, 0x33, 0xb0, 0x0b, 0x74, 0x02, 0xb0, 0x0e, 0xe6, 0xf4, 0xf4];
export const PVH_EXPECTED_STATUS = (0x0b << 1) | 1;

/** An ELF64 executable at `paddr` with a PT_NOTE holding XEN_ELFNOTE_PHYS32_ENTRY = `paddr`. */
export function makePvhElf(paddr = 0x200000): Uint8Array {
  const ehsize = 64;
  const phentsize = 56;
  const note = new Uint8Array(12 + 4 + 8);
  const ndv = new DataView(note.buffer);
  ndv.setUint32(0, 4, true); // namesz: "Xen\0"
  ndv.setUint32(4, 8, true); // descsz
  ndv.setUint32(8, 18, true); // XEN_ELFNOTE_PHYS32_ENTRY
  note.set(Buffer.from("Xen\0", "latin1"), 12);
  ndv.setBigUint64(16, BigInt(paddr), true);
  const noteAt = ehsize + 2 * phentsize;
  const codeAt = noteAt + note.length;
  const out = new Uint8Array(codeAt + PVH_ENTRY_32.length);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 62, true); // EM_X86_64
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, 0xffffffff80000000n + BigInt(paddr), true); // a kernel's virtual entry, unused by PVH
  dv.setBigUint64(32, BigInt(ehsize), true);
  dv.setUint16(52, ehsize, true);
  dv.setUint16(54, phentsize, true);
  dv.setUint16(56, 2, true);
  const load = ehsize;
  dv.setUint32(load, 1, true); // PT_LOAD
  dv.setBigUint64(load + 8, BigInt(codeAt), true);
  dv.setBigUint64(load + 16, 0xffffffff80000000n + BigInt(paddr), true);
  dv.setBigUint64(load + 24, BigInt(paddr), true);
  dv.setBigUint64(load + 32, BigInt(PVH_ENTRY_32.length), true);
  dv.setBigUint64(load + 40, BigInt(PVH_ENTRY_32.length), true);
  const notes = ehsize + phentsize;
  dv.setUint32(notes, 4, true); // PT_NOTE
  dv.setBigUint64(notes + 8, BigInt(noteAt), true);
  dv.setBigUint64(notes + 32, BigInt(note.length), true);
  dv.setBigUint64(notes + 40, BigInt(note.length), true);
  out.set(note, noteAt);
  out.set(PVH_ENTRY_32, codeAt);
  return out;
}
