// Byte layout shared by the firmware tables (MP and ACPI): little-endian fields at offsets from the
// specifications, space-padded ASCII identifiers, and the 8-bit checksum both specifications use: all bytes
// of a structure, its checksum byte included, add up to 0 modulo 256.

/** The low 8 bits of the sum of `bytes`: 0 for a structure with a correct checksum. */
export function byteSum(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return sum;
}

/** A fixed-size structure being filled in field by field; everything not written stays zero. */
export class TableBytes {
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.view = new DataView(this.bytes.buffer);
  }

  get length(): number {
    return this.bytes.length;
  }

  u8(offset: number, value: number): void {
    this.view.setUint8(offset, value);
  }
  u16(offset: number, value: number): void {
    this.view.setUint16(offset, value, true);
  }
  u32(offset: number, value: number): void {
    this.view.setUint32(offset, value >>> 0, true);
  }
  u64(offset: number, value: number | bigint): void {
    this.view.setBigUint64(offset, BigInt(value), true);
  }

  /** An ASCII field of `width` bytes, padded with spaces as MPS and ACPI identifiers are. */
  text(offset: number, value: string, width: number): void {
    if (value.length > width || !/^[\x20-\x7e]*$/.test(value)) {
      throw new RangeError(`"${value}" is not printable ASCII of at most ${width} characters`);
    }
    for (let i = 0; i < width; i++) this.u8(offset + i, i < value.length ? value.charCodeAt(i) : 0x20);
  }

  /** Copies a finished structure in at `offset`. */
  put(offset: number, part: TableBytes): void {
    this.bytes.set(part.bytes, offset);
  }

  /** Sets the byte at `at` so that bytes [0, end) add up to 0 modulo 256. */
  checksum(at: number, end = this.bytes.length): void {
    this.u8(at, 0);
    this.u8(at, (0x100 - byteSum(this.bytes.subarray(0, end))) & 0xff);
  }
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}
