// SSE2 128-bit integer instructions (66-prefixed forms; the unprefixed MMX forms are the x87/MMX family's),
// MOVD/MOVQ/MOVDQA/MOVDQU/MOVNTDQ, PMOVMSKB, MASKMOVDQU, PEXTRW/PINSRW; SSSE3 (PSHUFB, PHADD/PHSUB,
// PMADDUBSW, PMULHRSW, PALIGNR, PSIGN, PABS); the SSE4.1 integer and blend/insert/extract/round/dot-product
// instructions; SSE4.2's PCMPGTQ (Intel SDM vol. 2).
import type { Cpu } from "../cpu.js";
import { RDI } from "../cpu.js";
import { ud } from "../fault.js";
import type { Handler, Insn } from "../insn.js";
import { MAP_0F, MAP_0F3A, MAP_0F38 } from "../insn.js";
import { operandLinear, readRm, writeReg, writeRm } from "../operands.js";
import {
  A,
  A8,
  A8s,
  A16,
  A16u,
  B,
  B8,
  B8s,
  B16,
  B16u,
  f32,
  f64,
  form,
  fpBegin,
  fpEnd,
  IE,
  in32,
  in64,
  isNaN32,
  isNaN64,
  isSNaN32,
  isSNaN64,
  lo64,
  loadAB,
  loadB,
  loadX,
  NP,
  P66,
  PE,
  PF2,
  PF3,
  put64,
  R,
  R8,
  R16,
  R16u,
  RC_DOWN,
  RC_UP,
  RC_ZERO,
  raise,
  rc,
  round32,
  round64,
  sse,
  storeX,
} from "./sse_core.js";
import { arith32, arith64, FP_KERNELS, store128 } from "./sse_fp.js";

const op0F = (b: number) => MAP_0F + b;
const op38 = (b: number) => MAP_0F38 + b;
const op3A = (b: number) => MAP_0F3A + b;

const sat8s = (x: number) => (x < -128 ? -128 : Math.min(x, 127));
const sat8u = (x: number) => (x < 0 ? 0 : Math.min(x, 255));
const sat16s = (x: number) => (x < -32768 ? -32768 : Math.min(x, 32767));
const sat16u = (x: number) => (x < 0 ? 0 : Math.min(x, 65535));

/** A two-operand 128-bit instruction: `f` computes R from A (destination) and B (source, xmm/m128). */
function binop(f: () => void, size = 16): Handler {
  return (cpu, i) => {
    loadAB(cpu, i, size);
    f();
    storeX(cpu, i.reg, R);
  };
}
function bytes(f: (a: number, b: number) => number): () => void {
  return () => {
    for (let k = 0; k < 16; k++) R8[k] = f(A8s[k]!, B8s[k]!);
  };
}
function ubytes(f: (a: number, b: number) => number): () => void {
  return () => {
    for (let k = 0; k < 16; k++) R8[k] = f(A8[k]!, B8[k]!);
  };
}
function words(f: (a: number, b: number) => number): () => void {
  return () => {
    for (let k = 0; k < 8; k++) R16[k] = f(A16[k]!, B16[k]!);
  };
}
function uwords(f: (a: number, b: number) => number): () => void {
  return () => {
    for (let k = 0; k < 8; k++) R16u[k] = f(A16u[k]!, B16u[k]!);
  };
}
function dwords(f: (a: number, b: number) => number): () => void {
  return () => {
    for (let k = 0; k < 4; k++) R[k] = f(A[k]!, B[k]!);
  };
}
/** 64-bit lanes as (lo, hi) pairs. */
function qwords(f: (alo: number, ahi: number, blo: number, bhi: number, k: number) => void): () => void {
  return () => {
    f(A[0]!, A[1]!, B[0]!, B[1]!, 0);
    f(A[2]!, A[3]!, B[2]!, B[3]!, 2);
  };
}
const i66 = (b: number, f: () => void) => form(op0F(b), P66, binop(f));

// ---- add / subtract ----
i66(
  0xfc,
  bytes((a, b) => a + b),
);
i66(
  0xfd,
  words((a, b) => a + b),
);
i66(
  0xfe,
  dwords((a, b) => (a + b) | 0),
);
i66(
  0xd4,
  qwords((alo, ahi, blo, bhi, k) => {
    const lo = (alo >>> 0) + (blo >>> 0);
    R[k] = lo | 0;
    R[k + 1] = (ahi + bhi + (lo > 0xffffffff ? 1 : 0)) | 0;
  }),
);
i66(
  0xf8,
  bytes((a, b) => a - b),
);
i66(
  0xf9,
  words((a, b) => a - b),
);
i66(
  0xfa,
  dwords((a, b) => (a - b) | 0),
);
i66(
  0xfb,
  qwords((alo, ahi, blo, bhi, k) => {
    R[k] = (alo - blo) | 0;
    R[k + 1] = (ahi - bhi - (alo >>> 0 < blo >>> 0 ? 1 : 0)) | 0;
  }),
);
i66(
  0xec,
  bytes((a, b) => sat8s(a + b)),
);
i66(
  0xed,
  words((a, b) => sat16s(a + b)),
);
i66(
  0xdc,
  ubytes((a, b) => sat8u(a + b)),
);
i66(
  0xdd,
  uwords((a, b) => sat16u(a + b)),
);
i66(
  0xe8,
  bytes((a, b) => sat8s(a - b)),
);
i66(
  0xe9,
  words((a, b) => sat16s(a - b)),
);
i66(
  0xd8,
  ubytes((a, b) => sat8u(a - b)),
);
i66(
  0xd9,
  uwords((a, b) => sat16u(a - b)),
);

// ---- multiply ----
i66(
  0xd5,
  words((a, b) => Math.imul(a, b)),
);
i66(
  0xe5,
  words((a, b) => Math.imul(a, b) >> 16),
);
i66(
  0xe4,
  uwords((a, b) => (a * b) >>> 16),
);
/** The unsigned 64-bit product of two 32-bit values (as numbers below 2^32): low word returned, high in mulHi. */
let mulHi = 0;
function mulU32(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  // a * b = ah*bh * 2^32 + (ah*bl + al*bh) * 2^16 + al*bl; the middle sum is below 2^33.
  const mid = ah * bl + al * bh;
  const low = (mid % 65536) * 65536 + al * bl; // below 2^49
  mulHi = (ah * bh + Math.floor(mid / 65536) + Math.floor(low / 4294967296)) | 0;
  return (low % 4294967296) | 0;
}
// PMULUDQ: the low dwords of each qword, unsigned, to 64-bit products.
i66(
  0xf4,
  qwords((alo, _ahi, blo, _bhi, k) => {
    R[k] = mulU32(alo >>> 0, blo >>> 0);
    R[k + 1] = mulHi;
  }),
);
i66(0xf5, () => {
  for (let k = 0; k < 4; k++) R[k] = A16[2 * k]! * B16[2 * k]! + A16[2 * k + 1]! * B16[2 * k + 1]!;
});

// ---- logic ----
i66(
  0xdb,
  dwords((a, b) => a & b),
);
i66(
  0xdf,
  dwords((a, b) => ~a & b),
);
i66(
  0xeb,
  dwords((a, b) => a | b),
);
i66(
  0xef,
  dwords((a, b) => a ^ b),
);

// ---- compare ----
i66(
  0x74,
  bytes((a, b) => (a === b ? 0xff : 0)),
);
i66(
  0x75,
  words((a, b) => (a === b ? -1 : 0)),
);
i66(
  0x76,
  dwords((a, b) => (a === b ? -1 : 0)),
);
i66(
  0x64,
  bytes((a, b) => (a > b ? 0xff : 0)),
);
i66(
  0x65,
  words((a, b) => (a > b ? -1 : 0)),
);
i66(
  0x66,
  dwords((a, b) => (a > b ? -1 : 0)),
);

// ---- min / max / average / sum of absolute differences ----
i66(
  0xda,
  ubytes((a, b) => Math.min(a, b)),
);
i66(
  0xde,
  ubytes((a, b) => Math.max(a, b)),
);
i66(
  0xea,
  words((a, b) => Math.min(a, b)),
);
i66(
  0xee,
  words((a, b) => Math.max(a, b)),
);
i66(
  0xe0,
  ubytes((a, b) => (a + b + 1) >> 1),
);
i66(
  0xe3,
  uwords((a, b) => (a + b + 1) >> 1),
);
i66(0xf6, () => {
  for (let h = 0; h < 2; h++) {
    let s = 0;
    for (let k = h * 8; k < h * 8 + 8; k++) s += Math.abs(A8[k]! - B8[k]!);
    R[h * 2] = s;
    R[h * 2 + 1] = 0;
  }
});

// ---- shifts ----
/** The shift count of a register/memory count operand (64 bits): large counts clamp to 64. */
function countOf(): number {
  return B[1] !== 0 || B[0]! >>> 0 > 63 ? 64 : B[0]!;
}
function shiftWords(kind: number, n: number): void {
  for (let k = 0; k < 8; k++) {
    const a = A16u[k]!;
    if (kind === 0) R16u[k] = n > 15 ? 0 : a >>> n;
    else if (kind === 1) R16[k] = A16[k]! >> Math.min(n, 15);
    else R16u[k] = n > 15 ? 0 : a << n;
  }
}
function shiftDwords(kind: number, n: number): void {
  for (let k = 0; k < 4; k++) {
    const a = A[k]!;
    if (kind === 0) R[k] = n > 31 ? 0 : a >>> n;
    else if (kind === 1) R[k] = a >> Math.min(n, 31);
    else R[k] = n > 31 ? 0 : a << n;
  }
}
function shiftQwords(left: boolean, n: number): void {
  for (let k = 0; k < 4; k += 2) {
    const lo = A[k]!;
    const hi = A[k + 1]!;
    if (n > 63) {
      R[k] = 0;
      R[k + 1] = 0;
    } else if (n === 0) {
      R[k] = lo;
      R[k + 1] = hi;
    } else if (left) {
      if (n >= 32) {
        R[k + 1] = lo << (n - 32);
        R[k] = 0;
      } else {
        R[k + 1] = (hi << n) | (lo >>> (32 - n));
        R[k] = lo << n;
      }
    } else if (n >= 32) {
      R[k] = hi >>> (n - 32);
      R[k + 1] = 0;
    } else {
      R[k] = (lo >>> n) | (hi << (32 - n));
      R[k + 1] = hi >>> n;
    }
  }
}
/** PSRLDQ / PSLLDQ: whole-register byte shifts. */
function shiftBytes(left: boolean, n: number): void {
  for (let k = 0; k < 16; k++) {
    const from = left ? k - n : k + n;
    R8[k] = from >= 0 && from < 16 ? A8[from]! : 0;
  }
}
// By an xmm/m128 count: D1-D3 (PSRL W/D/Q), E1-E2 (PSRA W/D), F1-F3 (PSLL W/D/Q).
i66(0xd1, () => shiftWords(0, countOf()));
i66(0xd2, () => shiftDwords(0, countOf()));
i66(0xd3, () => shiftQwords(false, countOf()));
i66(0xe1, () => shiftWords(1, countOf()));
i66(0xe2, () => shiftDwords(1, countOf()));
i66(0xf1, () => shiftWords(2, countOf()));
i66(0xf2, () => shiftDwords(2, countOf()));
i66(0xf3, () => shiftQwords(true, countOf()));
// By an immediate: groups 12, 13, 14 (0F 71, 72, 73) with a register operand.
function shiftGroup(b: number): Handler {
  return (cpu, i) => {
    sse(cpu);
    if (i.mod !== 3) ud();
    const n = i.imm & 0xff;
    const r = i.reg & 7;
    loadX(cpu, i.rm, A);
    if (b === 0x71 || b === 0x72) {
      const kind = r === 2 ? 0 : r === 4 ? 1 : r === 6 ? 2 : -1;
      if (kind < 0) ud();
      if (b === 0x71) shiftWords(kind, n);
      else shiftDwords(kind, n);
    } else if (r === 2) shiftQwords(false, n);
    else if (r === 6) shiftQwords(true, n);
    else if (r === 3) shiftBytes(false, Math.min(n, 16));
    else if (r === 7) shiftBytes(true, Math.min(n, 16));
    else ud();
    storeX(cpu, i.rm, R);
  };
}
for (const b of [0x71, 0x72, 0x73]) form(op0F(b), P66, shiftGroup(b));

// ---- pack / unpack ----
i66(0x63, () => {
  for (let k = 0; k < 8; k++) {
    R8[k] = sat8s(A16[k]!);
    R8[k + 8] = sat8s(B16[k]!);
  }
});
i66(0x67, () => {
  for (let k = 0; k < 8; k++) {
    R8[k] = sat8u(A16[k]!);
    R8[k + 8] = sat8u(B16[k]!);
  }
});
i66(0x6b, () => {
  for (let k = 0; k < 4; k++) {
    R16[k] = sat16s(A[k]!);
    R16[k + 4] = sat16s(B[k]!);
  }
});
form(
  op38(0x2b),
  P66,
  binop(() => {
    for (let k = 0; k < 4; k++) {
      R16u[k] = sat16u(A[k]!);
      R16u[k + 4] = sat16u(B[k]!);
    }
  }),
);
/** PUNPCKL/H: interleave lanes of `size` bytes from the low (high = 0) or high half. */
function unpack(size: number, high: number): () => void {
  return () => {
    const base = high * 8;
    for (let k = 0; k < 8 / size; k++) {
      for (let j = 0; j < size; j++) {
        R8[2 * k * size + j] = A8[base + k * size + j]!;
        R8[(2 * k + 1) * size + j] = B8[base + k * size + j]!;
      }
    }
  };
}
i66(0x60, unpack(1, 0));
i66(0x61, unpack(2, 0));
i66(0x62, unpack(4, 0));
i66(0x6c, unpack(8, 0));
i66(0x68, unpack(1, 1));
i66(0x69, unpack(2, 1));
i66(0x6a, unpack(4, 1));
i66(0x6d, unpack(8, 1));

// ---- shuffles: PSHUFD (66 0F 70), PSHUFHW (F3), PSHUFLW (F2) ----
form(op0F(0x70), P66, (cpu, i) => {
  loadAB(cpu, i);
  const m = i.imm;
  for (let k = 0; k < 4; k++) R[k] = B[(m >> (2 * k)) & 3]!;
  storeX(cpu, i.reg, R);
});
for (const high of [0, 1]) {
  form(op0F(0x70), high ? PF3 : PF2, (cpu, i) => {
    loadAB(cpu, i);
    const m = i.imm;
    R.set(B);
    const base = high * 4;
    for (let k = 0; k < 4; k++) R16u[base + k] = B16u[base + ((m >> (2 * k)) & 3)]!;
    storeX(cpu, i.reg, R);
  });
}

// ---- moves ----
// MOVD/MOVQ xmm, r/m32/64 (66 0F 6E): zero-extended to 128 bits.
form(op0F(0x6e), P66, (cpu, i) => {
  sse(cpu);
  const size = i.opsize === 8 ? 8 : 4;
  const lo = readRm(cpu, i, size);
  R[0] = lo;
  R[1] = size === 8 ? cpu.vHi : 0;
  R[2] = 0;
  R[3] = 0;
  storeX(cpu, i.reg, R);
});
// MOVD/MOVQ r/m32/64, xmm (66 0F 7E).
form(op0F(0x7e), P66, (cpu, i) => {
  sse(cpu);
  const size = i.opsize === 8 ? 8 : 4;
  const x = cpu.xmm;
  const k = i.reg << 2;
  writeRm(cpu, i, size, x[k]!, x[k + 1]!);
});
// MOVQ xmm, xmm/m64 (F3 0F 7E): zero-extends.
form(op0F(0x7e), PF3, (cpu, i) => {
  sse(cpu);
  loadB(cpu, i, 8);
  R[0] = B[0]!;
  R[1] = B[1]!;
  R[2] = 0;
  R[3] = 0;
  storeX(cpu, i.reg, R);
});
// MOVQ xmm/m64, xmm (66 0F D6): a register destination is zero-extended.
form(op0F(0xd6), P66, (cpu, i) => {
  sse(cpu);
  loadX(cpu, i.reg, A);
  if (i.mod === 3) {
    R[0] = A[0]!;
    R[1] = A[1]!;
    R[2] = 0;
    R[3] = 0;
    storeX(cpu, i.rm, R);
  } else cpu.mem.write64(operandLinear(cpu, i, 8), A[0]!, A[1]!);
});
// MOVDQA (66 0F 6F/7F), MOVDQU (F3 0F 6F/7F), MOVNTDQ (66 0F E7), MOVNTDQA (66 0F 38 2A).
form(op0F(0x6f), P66, (cpu, i) => {
  sse(cpu);
  loadB(cpu, i, 16, true);
  storeX(cpu, i.reg, B);
});
form(op0F(0x6f), PF3, (cpu, i) => {
  sse(cpu);
  loadB(cpu, i, 16, false);
  storeX(cpu, i.reg, B);
});
form(op0F(0x7f), P66, store128(true, false));
form(op0F(0x7f), PF3, store128(false, false));
form(op0F(0xe7), P66, store128(true, true));
form(op38(0x2a), P66, (cpu, i) => {
  sse(cpu);
  if (i.mod === 3) ud();
  loadB(cpu, i, 16, true);
  storeX(cpu, i.reg, B);
});

// PMOVMSKB r32, xmm (66 0F D7).
form(op0F(0xd7), P66, (cpu, i) => {
  sse(cpu);
  if (i.mod !== 3) ud();
  loadX(cpu, i.rm, B);
  let m = 0;
  for (let k = 0; k < 16; k++) m |= (B8[k]! >> 7) << k;
  writeReg(cpu, i, i.reg, 4, m);
});

// MASKMOVDQU xmm1, xmm2 (66 0F F7): bytes of xmm1 whose mask byte (xmm2) has its top bit set, to DS:rDI.
form(op0F(0xf7), P66, (cpu, i) => {
  sse(cpu);
  if (i.mod !== 3) ud();
  loadX(cpu, i.reg, A);
  loadX(cpu, i.rm, B);
  const ad = i.adsize;
  const rdi = ad === 8 ? cpu.regNumber(RDI) : ad === 4 ? cpu.lo[RDI]! >>> 0 : cpu.lo[RDI]! & 0xffff;
  // Check every selected byte before writing any (a fault leaves memory unchanged).
  const lin = cpu.mem.linear(i.segOverride ? i.seg : 3, rdi, 16);
  cpu.mem.probeWrite(lin, 16);
  for (let k = 0; k < 16; k++) if (B8[k]! & 0x80) cpu.mem.write8(lin + k, A8[k]!);
});

// PINSRW xmm, r32/m16, imm8 (66 0F C4); PEXTRW r32, xmm, imm8 (66 0F C5).
form(op0F(0xc4), P66, (cpu, i) => {
  sse(cpu);
  const v = readRm(cpu, i, 2);
  loadX(cpu, i.reg, R);
  R16u[i.imm & 7] = v;
  storeX(cpu, i.reg, R);
});
form(op0F(0xc5), P66, (cpu, i) => {
  sse(cpu);
  if (i.mod !== 3) ud();
  loadX(cpu, i.rm, B);
  writeReg(cpu, i, i.reg, i.opsize === 8 ? 8 : 4, B16u[i.imm & 7]!, 0);
});

// ======== SSSE3 (66 0F 38 xx, 66 0F 3A 0F) ========
const s38 = (b: number, f: () => void) => form(op38(b), P66, binop(f));
s38(0x00, () => {
  for (let k = 0; k < 16; k++) {
    const sel = B8[k]!;
    R8[k] = sel & 0x80 ? 0 : A8[sel & 15]!;
  }
});
/** Horizontal word/dword operations: pairs of A then pairs of B. */
function hwords(f: (a: number, b: number) => number): () => void {
  return () => {
    for (let k = 0; k < 4; k++) {
      R16[k] = f(A16[2 * k]!, A16[2 * k + 1]!);
      R16[k + 4] = f(B16[2 * k]!, B16[2 * k + 1]!);
    }
  };
}
function hdwords(f: (a: number, b: number) => number): () => void {
  return () => {
    R[0] = f(A[0]!, A[1]!);
    R[1] = f(A[2]!, A[3]!);
    R[2] = f(B[0]!, B[1]!);
    R[3] = f(B[2]!, B[3]!);
  };
}
s38(
  0x01,
  hwords((a, b) => a + b),
);
s38(
  0x02,
  hdwords((a, b) => (a + b) | 0),
);
s38(
  0x03,
  hwords((a, b) => sat16s(a + b)),
);
s38(
  0x05,
  hwords((a, b) => a - b),
);
s38(
  0x06,
  hdwords((a, b) => (a - b) | 0),
);
s38(
  0x07,
  hwords((a, b) => sat16s(a - b)),
);
s38(0x04, () => {
  // PMADDUBSW: unsigned bytes of the destination times signed bytes of the source, pairs summed, saturated.
  for (let k = 0; k < 8; k++) R16[k] = sat16s(A8[2 * k]! * B8s[2 * k]! + A8[2 * k + 1]! * B8s[2 * k + 1]!);
});
s38(
  0x08,
  bytes((a, b) => (b < 0 ? -a : b === 0 ? 0 : a)),
);
s38(
  0x09,
  words((a, b) => (b < 0 ? -a : b === 0 ? 0 : a)),
);
s38(
  0x0a,
  dwords((a, b) => (b < 0 ? -a | 0 : b === 0 ? 0 : a)),
);
s38(
  0x0b,
  words((a, b) => (((a * b) >> 14) + 1) >> 1),
);
s38(
  0x1c,
  bytes((_a, b) => Math.abs(b)),
);
s38(
  0x1d,
  words((_a, b) => Math.abs(b)),
);
s38(
  0x1e,
  dwords((_a, b) => Math.abs(b) | 0),
);
// PALIGNR xmm, xmm/m128, imm8: the 32-byte concatenation dest:src shifted right by imm8 bytes.
form(op3A(0x0f), P66, (cpu, i) => {
  loadAB(cpu, i);
  const n = i.imm & 0xff;
  for (let k = 0; k < 16; k++) {
    const at = k + n;
    R8[k] = at < 16 ? B8[at]! : at < 32 ? A8[at - 16]! : 0;
  }
  storeX(cpu, i.reg, R);
});

// ======== SSE4.1 ========
s38(
  0x40,
  dwords((a, b) => Math.imul(a, b)),
);
s38(
  0x38,
  bytes((a, b) => Math.min(a, b)),
);
s38(
  0x3c,
  bytes((a, b) => Math.max(a, b)),
);
s38(
  0x39,
  dwords((a, b) => Math.min(a, b)),
);
s38(
  0x3d,
  dwords((a, b) => Math.max(a, b)),
);
s38(
  0x3a,
  uwords((a, b) => Math.min(a, b)),
);
s38(
  0x3e,
  uwords((a, b) => Math.max(a, b)),
);
s38(
  0x3b,
  dwords((a, b) => (a >>> 0 < b >>> 0 ? a : b)),
);
s38(
  0x3f,
  dwords((a, b) => (a >>> 0 > b >>> 0 ? a : b)),
);
s38(
  0x29,
  qwords((alo, ahi, blo, bhi, k) => {
    const v = alo === blo && ahi === bhi ? -1 : 0;
    R[k] = v;
    R[k + 1] = v;
  }),
);
// PCMPGTQ (SSE4.2): signed 64-bit greater-than.
s38(
  0x37,
  qwords((alo, ahi, blo, bhi, k) => {
    const v = ahi > bhi || (ahi === bhi && alo >>> 0 > blo >>> 0) ? -1 : 0;
    R[k] = v;
    R[k + 1] = v;
  }),
);
// PMULDQ: signed low dwords of each qword to 64-bit products.
s38(
  0x28,
  qwords((alo, _ahi, blo, _bhi, k) => {
    let lo = mulU32(Math.abs(alo), Math.abs(blo));
    let hi = mulHi;
    if (alo < 0 !== blo < 0) {
      // Two's complement negation of hi:lo.
      hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
      lo = -lo | 0;
    }
    R[k] = lo;
    R[k + 1] = hi;
  }),
);
// PHMINPOSUW: the minimum unsigned word and its index.
s38(0x41, () => {
  let m = B16u[0]!;
  let at = 0;
  for (let k = 1; k < 8; k++) {
    if (B16u[k]! < m) {
      m = B16u[k]!;
      at = k;
    }
  }
  R[0] = m | (at << 16);
  R[1] = 0;
  R[2] = 0;
  R[3] = 0;
});
// PTEST: ZF = (dest AND src) == 0, CF = (NOT dest AND src) == 0; the other flags cleared.
form(op38(0x17), P66, (cpu, i) => {
  loadAB(cpu, i);
  let and = 0;
  let andn = 0;
  for (let k = 0; k < 4; k++) {
    and |= A[k]! & B[k]!;
    andn |= ~A[k]! & B[k]!;
  }
  cpu.flags.setEager((and === 0 ? 0x40 : 0) | (andn === 0 ? 1 : 0));
});
// PMOVSX / PMOVZX (66 0F 38 20-25 / 30-35): sign/zero extension from the low part of the source.
for (const signed of [true, false]) {
  const base = signed ? 0x20 : 0x30;
  const kinds = [
    [1, 2],
    [1, 4],
    [1, 8],
    [2, 4],
    [2, 8],
    [4, 8],
  ] as const;
  kinds.forEach(([from, to], n) => {
    const count = 16 / to;
    form(op38(base + n), P66, (cpu, i) => {
      loadAB(cpu, i, count * from);
      for (let k = 0; k < count; k++) {
        const v = from === 1 ? (signed ? B8s[k]! : B8[k]!) : from === 2 ? (signed ? B16[k]! : B16u[k]!) : B[k]!;
        if (to === 2) R16[k] = v;
        else if (to === 4) R[k] = v;
        else {
          R[2 * k] = v;
          R[2 * k + 1] = signed ? (v < 0 ? -1 : 0) : from === 4 ? 0 : 0;
        }
      }
      storeX(cpu, i.reg, R);
    });
  });
}
// PBLENDVB / BLENDVPS / BLENDVPD (66 0F 38 10/14/15): select by the top bits of XMM0's lanes.
for (const [b, size] of [
  [0x10, 1],
  [0x14, 4],
  [0x15, 8],
] as const) {
  form(op38(b), P66, (cpu, i) => {
    loadAB(cpu, i);
    const x = cpu.xmm;
    for (let k = 0; k < 16; k++) {
      const top = k - (k % size) + size - 1; // the lane's top byte
      const maskByte = (x[top >> 2]! >> ((top & 3) * 8)) & 0x80;
      R8[k] = maskByte ? B8[k]! : A8[k]!;
    }
    storeX(cpu, i.reg, R);
  });
}
// BLENDPS / BLENDPD / PBLENDW (66 0F 3A 0C/0D/0E): select by imm8 bits.
for (const [b, size] of [
  [0x0c, 4],
  [0x0d, 8],
  [0x0e, 2],
] as const) {
  form(op3A(b), P66, (cpu, i) => {
    loadAB(cpu, i);
    for (let k = 0; k < 16; k++) R8[k] = (i.imm >> Math.floor(k / size)) & 1 ? B8[k]! : A8[k]!;
    storeX(cpu, i.reg, R);
  });
}
// PEXTRB/PEXTRW/PEXTRD/PEXTRQ/EXTRACTPS (66 0F 3A 14/15/16/17): to r32/r64 (zero-extended) or memory.
for (const [b, size] of [
  [0x14, 1],
  [0x15, 2],
  [0x16, 4],
  [0x17, 4],
] as const) {
  form(op3A(b), P66, (cpu, i) => {
    sse(cpu);
    loadX(cpu, i.reg, A);
    const wide = b === 0x16 && i.opsize === 8;
    const n = wide ? 2 : 16 / size;
    const at = i.imm & (n - 1);
    let lo: number;
    let hi = 0;
    if (wide) {
      lo = A[at * 2]!;
      hi = A[at * 2 + 1]!;
    } else lo = size === 1 ? A8[at]! : size === 2 ? A16u[at]! : A[at]!;
    if (i.mod === 3) writeReg(cpu, i, i.rm, wide || (i.opsize === 8 && b !== 0x17) ? 8 : 4, lo, hi);
    else writeRm(cpu, i, wide ? 8 : size, lo, hi);
  });
}
// PINSRB/PINSRD/PINSRQ (66 0F 3A 20/22).
for (const b of [0x20, 0x22]) {
  form(op3A(b), P66, (cpu, i) => {
    sse(cpu);
    const wide = b === 0x22 && i.opsize === 8;
    const size = b === 0x20 ? 1 : wide ? 8 : 4;
    const v = readRm(cpu, i, size === 1 && i.mod === 3 ? 4 : size);
    const hi = cpu.vHi;
    loadX(cpu, i.reg, R);
    if (size === 1) R8[i.imm & 15] = v;
    else if (size === 4) R[i.imm & 3] = v;
    else {
      R[(i.imm & 1) * 2] = v;
      R[(i.imm & 1) * 2 + 1] = hi;
    }
    storeX(cpu, i.reg, R);
  });
}
// INSERTPS (66 0F 3A 21): a binary32 lane (register: imm8[7:6] selects it; memory: m32) to lane imm8[5:4],
// then lanes in imm8[3:0] zeroed.
form(op3A(0x21), P66, (cpu, i) => {
  loadAB(cpu, i, 4);
  const m = i.imm;
  const v = i.mod === 3 ? B[(m >> 6) & 3]! : B[0]!;
  R.set(A);
  R[(m >> 4) & 3] = v;
  for (let k = 0; k < 4; k++) if ((m >> k) & 1) R[k] = 0;
  storeX(cpu, i.reg, R);
});
// MPSADBW (66 0F 3A 42): eight sums of absolute differences of 4-byte groups.
form(op3A(0x42), P66, (cpu, i) => {
  loadAB(cpu, i);
  const aOff = ((i.imm >> 2) & 1) * 4;
  const bOff = (i.imm & 3) * 4;
  for (let k = 0; k < 8; k++) {
    let s = 0;
    for (let j = 0; j < 4; j++) s += Math.abs(A8[aOff + k + j]! - B8[bOff + j]!);
    R16u[k] = s;
  }
  storeX(cpu, i.reg, R);
});

// ROUNDPS/ROUNDPD/ROUNDSS/ROUNDSD (66 0F 3A 08-0B): to integral values, imm8[1:0] or MXCSR.RC (imm8 bit 2);
// imm8 bit 3 suppresses PE.
function roundValue(x: number, mode: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  let r: number;
  if (mode === RC_ZERO) r = Math.trunc(x);
  else if (mode === RC_DOWN) r = Math.floor(x);
  else if (mode === RC_UP) r = Math.ceil(x);
  else {
    r = Math.round(x);
    if (r - x === 0.5 && r % 2 !== 0) r -= 1;
  }
  // Keep the sign of zero (-0.3 rounds to -0).
  return r === 0 ? (x < 0 ? -0 : 0) : r;
}
function round1(imm: number, single: boolean, lo: number, hi: number, out: Int32Array, at: number): void {
  const mode = imm & 4 ? rc : imm & 3;
  if (single) {
    if (isNaN32(lo)) {
      if (isSNaN32(lo)) raise(IE);
      out[at] = lo | 0x400000;
      return;
    }
    const x = f32(in32(lo));
    const r = roundValue(x, mode);
    if (r !== x && !(imm & 8)) raise(PE);
    out[at] = round32(Math.fround(r), 0, true);
    return;
  }
  if (isNaN64(lo, hi)) {
    if (isSNaN64(lo, hi)) raise(IE);
    out[at] = lo;
    out[at + 1] = hi | 0x80000;
    return;
  }
  const h = in64(lo, hi);
  const x = f64(lo64, h);
  const r = roundValue(x, mode);
  if (r !== x && !(imm & 8)) raise(PE);
  put64(out, at, round64(r, 0, true));
}
for (const [b, single, scalar] of [
  [0x08, true, false],
  [0x09, false, false],
  [0x0a, true, true],
  [0x0b, false, true],
] as const) {
  form(op3A(b), P66, (cpu, i) => {
    loadAB(cpu, i, scalar ? (single ? 4 : 8) : 16);
    fpBegin(cpu);
    R.set(scalar ? A : B);
    const step = single ? 1 : 2;
    const n = scalar ? 1 : single ? 4 : 2;
    for (let k = 0; k < n; k++) round1(i.imm, single, B[k * step]!, B[k * step + 1] ?? 0, R, k * step);
    fpEnd(cpu);
    storeX(cpu, i.reg, R);
  });
}
// DPPS / DPPD (66 0F 3A 40/41): products of the lanes selected by imm8[7:4] summed pairwise in the SDM's
// order, then written to the lanes selected by imm8[3:0].
const { ADD, MUL } = FP_KERNELS;
const dpTmp = new Int32Array(8);
form(op3A(0x40), P66, (cpu, i) => {
  loadAB(cpu, i);
  fpBegin(cpu);
  const m = i.imm;
  for (let k = 0; k < 4; k++) dpTmp[k] = (m >> (4 + k)) & 1 ? arith32(MUL, A[k]!, B[k]!) : 0;
  const s01 = arith32(ADD, dpTmp[0]!, dpTmp[1]!);
  const s23 = arith32(ADD, dpTmp[2]!, dpTmp[3]!);
  const sum = arith32(ADD, s01, s23);
  for (let k = 0; k < 4; k++) R[k] = (m >> k) & 1 ? sum : 0;
  fpEnd(cpu);
  storeX(cpu, i.reg, R);
});
form(op3A(0x41), P66, (cpu, i) => {
  loadAB(cpu, i);
  fpBegin(cpu);
  const m = i.imm;
  dpTmp.fill(0);
  for (let k = 0; k < 2; k++)
    if ((m >> (4 + k)) & 1) arith64(MUL, A[2 * k]!, A[2 * k + 1]!, B[2 * k]!, B[2 * k + 1]!, dpTmp, 2 * k);
  arith64(ADD, dpTmp[0]!, dpTmp[1]!, dpTmp[2]!, dpTmp[3]!, dpTmp, 4);
  for (let k = 0; k < 2; k++) {
    R[2 * k] = (m >> k) & 1 ? dpTmp[4]! : 0;
    R[2 * k + 1] = (m >> k) & 1 ? dpTmp[5]! : 0;
  }
  fpEnd(cpu);
  storeX(cpu, i.reg, R);
});

void NP;
void PF2;
void ({} as Cpu | Insn);

// ======== SSE4.2 string compares: PCMPESTRM/PCMPESTRI/PCMPISTRM/PCMPISTRI (66 0F 3A 60-63) ========
// imm8[1:0] element format (unsigned bytes, unsigned words, signed bytes, signed words), [3:2] aggregation
// (equal any, ranges, equal each, equal ordered), [5:4] polarity, [6] most significant index / expanded mask.
// The first operand (xmm1) is the set, ranges or needle; the second (xmm2/m128, no alignment needed) the text.
// Explicit lengths are |EAX| and |EDX| (|RAX|, |RDX| with REX.W) saturated to the element count; implicit
// lengths end at the first zero element. CF = result non-zero, ZF = text shorter than the register, SF = the
// first operand shorter, OF = result bit 0, AF = PF = 0.
function element(x8: Uint8Array, x8s: Int8Array, x16u: Uint16Array, x16: Int16Array, fmt: number, k: number) {
  return fmt === 0 ? x8[k]! : fmt === 1 ? x16u[k]! : fmt === 2 ? x8s[k]! : x16[k]!;
}
const ea = new Int32Array(16);
const eb = new Int32Array(16);
function implicitLength(e: Int32Array, n: number): number {
  for (let k = 0; k < n; k++) if (e[k] === 0) return k;
  return n;
}
function explicitLength(cpu: Cpu, r: number, wide: boolean, n: number): number {
  const v = wide ? Math.abs(cpu.regNumber(r)) : Math.abs(cpu.lo[r]!);
  return Math.min(v, n);
}
for (const [b, explicit, index] of [
  [0x60, true, false],
  [0x61, true, true],
  [0x62, false, false],
  [0x63, false, true],
] as const) {
  form(op3A(b), P66, (cpu, i) => {
    loadAB(cpu, i, 16, false);
    const imm = i.imm;
    const fmt = imm & 3;
    const n = fmt & 1 ? 8 : 16;
    for (let k = 0; k < n; k++) {
      ea[k] = element(A8, A8s, A16u, A16, fmt, k);
      eb[k] = element(B8, B8s, B16u, B16, fmt, k);
    }
    const la = explicit ? explicitLength(cpu, 0, i.opsize === 8, n) : implicitLength(ea, n);
    const lb = explicit ? explicitLength(cpu, 2, i.opsize === 8, n) : implicitLength(eb, n);
    const agg = (imm >> 2) & 3;
    let res = 0;
    for (let j = 0; j < n; j++) {
      let bit = 0;
      if (agg === 0) {
        if (j < lb) for (let k = 0; k < la; k++) if (ea[k] === eb[j]) bit = 1;
      } else if (agg === 1) {
        if (j < lb) for (let k = 0; k + 1 < la; k += 2) if (ea[k]! <= eb[j]! && eb[j]! <= ea[k + 1]!) bit = 1;
      } else if (agg === 2) {
        bit = j < la && j < lb ? (ea[j] === eb[j] ? 1 : 0) : j >= la && j >= lb ? 1 : 0;
      } else {
        bit = 1;
        for (let k = 0; k < n - j; k++) {
          if (k >= la) break; // the needle ended: matches
          if (j + k >= lb || ea[k] !== eb[j + k]) {
            bit = 0;
            break;
          }
        }
      }
      res |= bit << j;
    }
    const all = (1 << n) - 1;
    const pol = (imm >> 4) & 3;
    if (pol === 1) res ^= all;
    else if (pol === 3) res ^= (1 << lb) - 1;
    if (index) {
      let at = n;
      if (res !== 0) at = imm & 0x40 ? 31 - Math.clz32(res) : 31 - Math.clz32(res & -res);
      writeReg(cpu, i, 1, 4, at);
    } else {
      if (imm & 0x40) {
        for (let k = 0; k < 16; k++) R8[k] = (res >> (fmt & 1 ? k >> 1 : k)) & 1 ? 0xff : 0;
      } else {
        R[0] = res;
        R[1] = 0;
        R[2] = 0;
        R[3] = 0;
      }
      storeX(cpu, 0, R);
    }
    cpu.flags.setEager((res !== 0 ? 1 : 0) | (lb < n ? 0x40 : 0) | (la < n ? 0x80 : 0) | (res & 1 ? 0x800 : 0));
  });
}
