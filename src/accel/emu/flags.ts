// EFLAGS, kept lazily (Intel SDM vol. 1, 3.4.3): the hot arithmetic instructions record their operation,
// operands and result; a flag is computed only when something reads it. Everything else stores flags eagerly.
export const CF = 1 << 0;
export const PF = 1 << 2;
export const AF = 1 << 4;
export const ZF = 1 << 6;
export const SF = 1 << 7;
export const TF = 1 << 8;
export const IF = 1 << 9;
export const DF = 1 << 10;
export const OF = 1 << 11;
export const IOPL = 3 << 12;
export const NT = 1 << 14;
export const RF = 1 << 16;
export const VM = 1 << 17;
export const AC = 1 << 18;
export const VIF = 1 << 19;
export const VIP = 1 << 20;
export const ID = 1 << 21;
/** Bit 1 always reads as one. */
export const FIXED1 = 1 << 1;
/** The six status flags that arithmetic computes. */
export const ARITH = CF | PF | AF | ZF | SF | OF;

/** What the last flag-setting operation was (a const enum: the hot paths compare inlined numbers). */
export const enum FlagOp {
  /** The status flags are in `Flags.eager`. */
  EAGER = 0,
  ADD = 1,
  SUB = 2,
  /** AND/OR/XOR/TEST: CF=OF=0, AF undefined (0). */
  LOGIC = 3,
  /** INC/DEC: like ADD/SUB with 1, but CF comes from `eager`. */
  INC = 4,
  DEC = 5,
}

/** Parity of the low byte: PF is set when the number of set bits is even. */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let bits = 0;
  for (let b = i; b; b >>= 1) bits += b & 1;
  PARITY[i] = bits & 1 ? 0 : PF;
}

/** Sign bit and mask per operand size in bytes (1, 2, 4); 8-byte operands keep halves. */
export const SIGN = [0, 0x80, 0x8000, 0, 0x80000000 | 0];
export const MASK = [0, 0xff, 0xffff, 0, 0xffffffff];

/**
 * The lazy flag state. For operand sizes 1-4 the values live in a/b/r (unsigned); for 8 the low halves live
 * there and the high halves (signed int32) in aHi/bHi/rHi.
 */
export class Flags {
  op: FlagOp = FlagOp.EAGER;
  size = 4;
  a = 0;
  b = 0;
  r = 0;
  aHi = 0;
  bHi = 0;
  rHi = 0;
  /** Status flags when op is EAGER; with INC/DEC, only CF is taken from here. */
  eager = 0;

  /** Records an ADD/SUB/LOGIC/INC/DEC of `size` bytes (1-4). */
  set(op: FlagOp, size: number, a: number, b: number, r: number): void {
    if (op === FlagOp.INC || op === FlagOp.DEC) this.eager = this.cf();
    this.op = op;
    this.size = size;
    this.a = a;
    this.b = b;
    this.r = r;
  }

  /** Records a 64-bit operation: operands and result as (lo unsigned, hi int32) pairs. */
  set64(op: FlagOp, aLo: number, aHi: number, bLo: number, bHi: number, rLo: number, rHi: number): void {
    if (op === FlagOp.INC || op === FlagOp.DEC) this.eager = this.cf();
    this.op = op;
    this.size = 8;
    this.a = aLo;
    this.b = bLo;
    this.r = rLo;
    this.aHi = aHi;
    this.bHi = bHi;
    this.rHi = rHi;
  }

  /** Stores the six status flags eagerly (bits as in EFLAGS). */
  setEager(bits: number): void {
    this.op = FlagOp.EAGER;
    this.eager = bits & ARITH;
  }

  cf(): number {
    switch (this.op) {
      case FlagOp.EAGER:
      case FlagOp.INC:
      case FlagOp.DEC:
        return this.eager & CF;
      case FlagOp.ADD:
        if (this.size === 8) return u64Less(this.r, this.rHi, this.a, this.aHi) ? CF : 0;
        return this.r >>> 0 < this.a >>> 0 ? CF : 0;
      case FlagOp.SUB:
        if (this.size === 8) return u64Less(this.a, this.aHi, this.b, this.bHi) ? CF : 0;
        return this.a >>> 0 < this.b >>> 0 ? CF : 0;
      default:
        return 0;
    }
  }

  zf(): number {
    if (this.op === FlagOp.EAGER) return this.eager & ZF;
    if (this.size === 8) return (this.r | this.rHi) === 0 ? ZF : 0;
    return (this.r & MASK[this.size]!) === 0 ? ZF : 0;
  }

  sf(): number {
    if (this.op === FlagOp.EAGER) return this.eager & SF;
    if (this.size === 8) return this.rHi < 0 ? SF : 0;
    return this.r & SIGN[this.size]! ? SF : 0;
  }

  of(): number {
    let x: number;
    switch (this.op) {
      case FlagOp.EAGER:
        return this.eager & OF;
      case FlagOp.LOGIC:
        return 0;
      case FlagOp.ADD:
      case FlagOp.INC:
        x = this.size === 8 ? (this.aHi ^ this.rHi) & (this.bHi ^ this.rHi) : (this.a ^ this.r) & (this.b ^ this.r);
        break;
      default:
        x = this.size === 8 ? (this.aHi ^ this.bHi) & (this.aHi ^ this.rHi) : (this.a ^ this.b) & (this.a ^ this.r);
        break;
    }
    const sign = this.size === 8 ? SIGN[4]! : SIGN[this.size]!;
    return x & sign ? OF : 0;
  }

  pf(): number {
    if (this.op === FlagOp.EAGER) return this.eager & PF;
    return PARITY[this.r & 0xff]!;
  }

  af(): number {
    if (this.op === FlagOp.EAGER) return this.eager & AF;
    if (this.op === FlagOp.LOGIC) return 0;
    return (this.a ^ this.b ^ this.r) & AF;
  }

  /** All six status flags. */
  get(): number {
    if (this.op === FlagOp.EAGER) return this.eager;
    return this.cf() | this.pf() | this.af() | this.zf() | this.sf() | this.of();
  }
}

/** Unsigned 64-bit a < b on (lo, hi) halves. */
export function u64Less(aLo: number, aHi: number, bLo: number, bHi: number): boolean {
  const ah = aHi >>> 0;
  const bh = bHi >>> 0;
  return ah < bh || (ah === bh && aLo >>> 0 < bLo >>> 0);
}
