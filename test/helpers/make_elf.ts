// Builds small ELF executables in memory, to derive malformed images from.
export interface SegmentSpec {
  paddr: number;
  data: Uint8Array;
  memsz?: number;
}

/** An ELF32 (EM_386) or ELF64 (EM_X86_64) executable with one PT_LOAD per segment. */
export function makeElf(bits: 32 | 64, entry: number, segments: SegmentSpec[]): Uint8Array {
  const ehsize = bits === 32 ? 52 : 64;
  const phentsize = bits === 32 ? 32 : 56;
  const phoff = ehsize;
  let offset = phoff + phentsize * segments.length;
  const total = offset + segments.reduce((n, s) => n + s.data.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, bits === 32 ? 1 : 2, 1, 1]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, bits === 32 ? 3 : 62, true);
  dv.setUint32(20, 1, true);
  if (bits === 32) {
    dv.setUint32(24, entry, true);
    dv.setUint32(28, phoff, true);
    dv.setUint16(40, ehsize, true);
    dv.setUint16(42, phentsize, true);
    dv.setUint16(44, segments.length, true);
  } else {
    dv.setBigUint64(24, BigInt(entry), true);
    dv.setBigUint64(32, BigInt(phoff), true);
    dv.setUint16(52, ehsize, true);
    dv.setUint16(54, phentsize, true);
    dv.setUint16(56, segments.length, true);
  }
  segments.forEach((s, i) => {
    const at = phoff + i * phentsize;
    const memsz = s.memsz ?? s.data.length;
    dv.setUint32(at, 1, true); // PT_LOAD
    if (bits === 32) {
      [offset, s.paddr, s.paddr, s.data.length, memsz].forEach((v, k) => {
        dv.setUint32(at + 4 + k * 4, v, true);
      });
    } else {
      [offset, s.paddr, s.paddr, s.data.length, memsz].forEach((v, k) => {
        dv.setBigUint64(at + 8 + k * 8, BigInt(v), true);
      });
    }
    out.set(s.data, offset);
    offset += s.data.length;
  });
  return out;
}

/** A Multiboot v1 header (magic, flags, checksum) for page-align and memory-info. */
export function multibootHeader(flags = 0x3, checksumDelta = 0): Uint8Array {
  const h = new Uint8Array(12);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, 0x1badb002, true);
  dv.setUint32(4, flags, true);
  dv.setUint32(8, (-(0x1badb002 + flags) + checksumDelta) >>> 0, true);
  return h;
}
