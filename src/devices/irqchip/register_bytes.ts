// 32-bit registers seen through MMIO accesses of any width: guests may read a byte of an APIC register.

/** Little-endian bytes of a 32-bit register, starting at byte `at`, into an access of any width. */
export function putBytes(data: Uint8Array, at: number, value: number): void {
  for (let i = 0; i < data.length; i++) data[i] = at + i < 4 ? (value >>> ((at + i) * 8)) & 0xff : 0;
}

/** A 32-bit register with the bytes of a narrower access written over it from byte `at`. */
export function mergeBytes(old: number, data: Uint8Array, at: number): number {
  let value = old;
  for (let i = 0; i < data.length && at + i < 4; i++) {
    const shift = (at + i) * 8;
    value = (value & ~(0xff << shift)) | ((data[i] ?? 0) << shift);
  }
  return value >>> 0;
}
