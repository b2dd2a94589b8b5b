// How exact the emulator's SSE arithmetic is under each MXCSR rounding mode: its binary32/binary64 add, sub,
// mul, div and sqrt kernels against a reference that rounds the exact rational result (BigInt arithmetic) to
// the target format. Results must match bit for bit in every mode, for normal-range operands and at the edges
// (subnormal results, operands near overflow: where Dekker's error terms fail and the kernels fall back to
// BigInt).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Cpu } from "../src/accel/emu/cpu.js";
import { fpBegin } from "../src/accel/emu/ops/sse_core.js";
import { arith32, arith64, FP_KERNELS } from "../src/accel/emu/ops/sse_fp.js";

const { ADD, SUB, MUL, DIV, SQRT } = FP_KERNELS;
const f64 = new Float64Array(1);
const i32 = new Int32Array(f64.buffer);
const f32 = new Float32Array(1);
const i32s = new Int32Array(f32.buffer);

/** x as sign, integer significand and exponent: |x| = m * 2^e. */
function parts(x: number): { neg: boolean; m: bigint; e: number } {
  f64[0] = x;
  const hi = i32[1]!;
  const lo = i32[0]! >>> 0;
  const exp = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (exp) m |= 1n << 52n;
  return { neg: hi < 0, m, e: (exp || 1) - 1075 };
}

const bitlen = (v: bigint) => v.toString(2).length;

/**
 * Rounds the exact value (neg ? -1 : 1) * num / den * 2^scale to a format with `prec` significand bits and
 * smallest exponent `emin` (of the ulp of subnormals) and largest finite value `max`, under rounding mode rc.
 */
function roundExact(
  neg: boolean,
  num: bigint,
  den: bigint,
  scale: number,
  rc: number,
  prec: number,
  eminUlp: number,
  max: number,
): number {
  if (num === 0n) return neg ? -0 : 0;
  // Choose k so that the quotient num * 2^k / den has prec bits: value = q * 2^(scale - k).
  let k = prec - (bitlen(num) - bitlen(den));
  if ((num << BigInt(Math.max(k, 0))) / (den << BigInt(Math.max(-k, 0))) >= 1n << BigInt(prec)) k--;
  if (scale - k < eminUlp) k = scale - eminUlp;
  const n2 = k >= 0 ? num << BigInt(k) : num;
  const d2 = k >= 0 ? den : den << BigInt(-k);
  let q = n2 / d2;
  const rem = n2 - q * d2;
  if (rem !== 0n) {
    if (rc === 0) {
      const c = 2n * rem - d2;
      if (c > 0n || (c === 0n && q & 1n)) q++;
    } else if ((rc === 2 && !neg) || (rc === 1 && neg)) q++;
  }
  const e = scale - k;
  let v = e > 900 ? Number(q) * 2 ** (e - 100) * 2 ** 100 : Number(q) * 2 ** e;
  if (v > max) {
    // Overflow: infinity, or the largest finite value when rounding toward zero or away from the sign.
    v = rc === 0 || (rc === 2 && !neg) || (rc === 1 && neg) ? Infinity : max;
  }
  return neg ? -v : v;
}

function exact(k: number, x: number, y: number, rc: number, single: boolean): number {
  const prec = single ? 24 : 53;
  const eminUlp = single ? -149 : -1074;
  const max = single ? 3.4028234663852886e38 : Number.MAX_VALUE;
  const a = parts(x);
  const b = parts(y);
  const sa = a.neg ? -a.m : a.m;
  const sb = b.neg ? -b.m : b.m;
  if (k === ADD || k === SUB) {
    const sb2 = k === SUB ? -sb : sb;
    const e = Math.min(a.e, b.e);
    const sum = (sa << BigInt(a.e - e)) + (sb2 << BigInt(b.e - e));
    if (sum === 0n) return rc === 1 ? -0 : 0;
    return roundExact(sum < 0n, sum < 0n ? -sum : sum, 1n, e, rc, prec, eminUlp, max);
  }
  if (k === MUL) return roundExact(a.neg !== b.neg, a.m * b.m, 1n, a.e + b.e, rc, prec, eminUlp, max);
  if (k === DIV) return roundExact(a.neg !== b.neg, a.m, b.m, a.e - b.e, rc, prec, eminUlp, max);
  // SQRT of y: scale to an even exponent with plenty of bits, integer square root, sticky remainder.
  let m = b.m;
  let e = b.e;
  if (e & 1) {
    m <<= 1n;
    e--;
  }
  const shift = 2 * 120;
  const big = m << BigInt(shift);
  // Newton's iteration from above converges to floor(sqrt(big)).
  let r = BigInt(Math.ceil(Math.sqrt(Number(big)) * (1 + 2 ** -40))) + 1n;
  for (;;) {
    const next = (r + big / r) >> 1n;
    if (next >= r) break;
    r = next;
  }
  while (r * r > big) r--;
  // r approximates sqrt(big) from below; make the value r + (sticky) by doubling with a sticky bit.
  const sticky = r * r === big ? 0n : 1n;
  return roundExact(false, 2n * r + sticky, 2n, (e - shift) / 2, rc, prec, eminUlp, max);
}

/** A random double with exponent in [lo, hi]. */
function rand(lo: number, hi: number): number {
  const e = lo + Math.floor(Math.random() * (hi - lo + 1));
  const m = 1 + Math.random();
  return (Math.random() < 0.5 ? -1 : 1) * m * 2 ** e;
}

const out = new Int32Array(2);
function emu64(k: number, x: number, y: number, rc: number): number {
  fpBegin({ mxcsr: 0x1f80 | (rc << 13) } as Cpu);
  f64[0] = x;
  const alo = i32[0]!;
  const ahi = i32[1]!;
  f64[0] = y;
  arith64(k, alo, ahi, i32[0]!, i32[1]!, out, 0);
  i32[0] = out[0]!;
  i32[1] = out[1]!;
  return f64[0]!;
}
function emu32(k: number, x: number, y: number, rc: number): number {
  fpBegin({ mxcsr: 0x1f80 | (rc << 13) } as Cpu);
  f32[0] = x;
  const a = i32s[0]!;
  f32[0] = y;
  i32s[0] = arith32(k, a, i32s[0]!);
  return f32[0]!;
}

/** Distance in ulps between two doubles of the same sign (0 when identical, including the sign of zero). */
function ulps(a: number, b: number): number {
  if (Object.is(a, b)) return 0;
  f64[0] = a;
  const ah = i32[1]!;
  const al = i32[0]! >>> 0;
  f64[0] = b;
  return Math.abs((ah - i32[1]!) * 4294967296 + (al - (i32[0]! >>> 0))) || 1;
}

interface Tally {
  cases: number;
  mismatches: number;
  maxUlps: number;
}
function compare(single: boolean, ranges: [number, number][], count: number): Tally {
  const t: Tally = { cases: 0, mismatches: 0, maxUlps: 0 };
  for (let n = 0; n < count; n++) {
    for (const k of [ADD, SUB, MUL, DIV, SQRT]) {
      const [lo, hi] = ranges[n % ranges.length]!;
      let x = rand(lo, hi);
      let y = rand(lo, hi);
      if (k === SQRT) y = Math.abs(y);
      if (single) {
        x = Math.fround(x);
        y = Math.fround(y);
      }
      for (let rc = 0; rc < 4; rc++) {
        const want = exact(k, x, y, rc, single);
        const got = single ? emu32(k, x, y, rc) : emu64(k, x, y, rc);
        t.cases++;
        if (!Object.is(want, got)) {
          if (process.env.SSE_ROUND_DEBUG && t.mismatches < 10) console.log(k, rc, x, y, want, got);
          t.mismatches++;
          t.maxUlps = Math.max(t.maxUlps, ulps(want, got));
        }
      }
    }
  }
  return t;
}

test("binary64 add/sub/mul/div/sqrt are exact in all four rounding modes for normal-range operands", () => {
  const t = compare(
    false,
    [
      [-60, 60],
      [-400, 400],
      [-900, 900],
    ],
    2000,
  );
  assert.equal(t.mismatches, 0, JSON.stringify(t));
});

test("binary32 add/sub/mul/div/sqrt are exact in all four rounding modes, subnormal results included", () => {
  const t = compare(
    true,
    [
      [-30, 30],
      [-126, 127],
      [-149, -100],
    ],
    2000,
  );
  assert.equal(t.mismatches, 0, JSON.stringify(t));
});

test("binary64 at the edges: subnormal results and operands near overflow are exact too", (ctx) => {
  const tiny = compare(false, [[-1074, -900]], 2000);
  const huge = compare(false, [[960, 1023]], 2000);
  ctx.diagnostic(`subnormal range: ${JSON.stringify(tiny)}; near overflow: ${JSON.stringify(huge)}`);
  assert.equal(tiny.mismatches + huge.mismatches, 0, JSON.stringify({ tiny, huge }));
});
