// Later integer extensions (Intel SDM vol. 2): POPCNT (F3 0F B8), LZCNT/TZCNT (F3 0F BD/BC; without F3
// these are BSR/BSF, which bits.ts dispatches here), MOVBE (0F 38 F0/F1), CRC32 (F2 0F 38 F0/F1, SSE4.2),
// RDRAND/RDSEED (0F C7 /6 /7, register forms), RDPID (F3 0F C7 /7), RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE
// (F3 0F AE /0-/3, register forms, 64-bit mode with CR4.FSGSBASE).
//
// Undefined flags: POPCNT clears OF, SF, ZF (then set for a zero source), AF, CF, PF as documented.
// LZCNT/TZCNT leave OF, SF, PF, AF undefined: they are cleared here. RDRAND/RDSEED never fail (CF=1).
import { randomFillSync } from "node:crypto";
import type { Cpu } from "../cpu.js";
import { CR4_FSGSBASE, FS, GS } from "../cpu.js";
import { gp, ud } from "../fault.js";
import { CF, ZF } from "../flags.js";
import type { Handler, Insn } from "../insn.js";
import { MAP_0F, MAP_0F38 } from "../insn.js";
import { defGroup, unimplemented } from "../opcodes.js";
import { operandLinear, readReg, readRm, writeReg } from "../operands.js";
import { form, NP, P66, PF2, PF3 } from "./sse_core.js";
import { group15Fsgs } from "./sse_fp.js";

function popcount32(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** The r/m source at the operand size: low half returned, high half (size 8) in `srcHi`. */
let srcHi = 0;
function source(cpu: Cpu, i: Insn): number {
  const size = i.opsize;
  const lo = readRm(cpu, i, size);
  srcHi = size === 8 ? cpu.vHi : 0;
  return lo;
}

form(MAP_0F + 0xb8, PF3, (cpu, i) => {
  const lo = source(cpu, i);
  const n = popcount32(lo) + popcount32(srcHi);
  writeReg(cpu, i, i.reg, i.opsize, n, 0);
  cpu.flags.setEager(n === 0 ? ZF : 0);
});

/** LZCNT (F3 0F BD). */
export const lzcnt: Handler = (cpu, i) => {
  const size = i.opsize;
  const lo = source(cpu, i);
  let n: number;
  if (size === 8) n = srcHi !== 0 ? Math.clz32(srcHi) : 32 + Math.clz32(lo);
  else n = Math.clz32(lo) - (32 - size * 8);
  writeReg(cpu, i, i.reg, size, n, 0);
  cpu.flags.setEager((n === size * 8 ? CF : 0) | (n === 0 ? ZF : 0));
};

/** TZCNT (F3 0F BC). */
export const tzcnt: Handler = (cpu, i) => {
  const size = i.opsize;
  const lo = source(cpu, i);
  let n: number;
  const ctz = (v: number) => (v === 0 ? 32 : 31 - Math.clz32(v & -v));
  if (size === 8) n = lo !== 0 ? ctz(lo) : 32 + ctz(srcHi);
  else n = Math.min(ctz(lo), size * 8);
  writeReg(cpu, i, i.reg, size, n, 0);
  cpu.flags.setEager((n === size * 8 ? CF : 0) | (n === 0 ? ZF : 0));
};

// ---- MOVBE: a load or store with the bytes reversed (memory operand only) ----
const bswap32 = (v: number) => (v >>> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24) | 0;
const movbe =
  (store: boolean): Handler =>
  (cpu, i) => {
    if (i.mod === 3) ud();
    const size = i.opsize;
    const lin = operandLinear(cpu, i, size);
    const m = cpu.mem;
    if (store) {
      const lo = readReg(cpu, i, i.reg, size);
      const hi = cpu.vHi;
      if (size === 2) m.write16(lin, ((lo & 0xff) << 8) | ((lo >> 8) & 0xff));
      else if (size === 4) m.write32(lin, bswap32(lo));
      else m.write64(lin, bswap32(hi), bswap32(lo));
      return;
    }
    if (size === 2) {
      const v = m.read16(lin);
      writeReg(cpu, i, i.reg, 2, ((v & 0xff) << 8) | ((v >> 8) & 0xff));
    } else if (size === 4) writeReg(cpu, i, i.reg, 4, bswap32(m.read32(lin)));
    else {
      const lo = m.read64(lin);
      writeReg(cpu, i, i.reg, 8, bswap32(cpu.vHi), bswap32(lo));
    }
  };
for (const p of [NP, P66]) {
  form(MAP_0F38 + 0xf0, p, movbe(false));
  form(MAP_0F38 + 0xf1, p, movbe(true));
}

// ---- CRC32 (CRC-32C, Castagnoli, reflected polynomial 0x82F63B78; no pre/post inversion) ----
const CRC_TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  CRC_TABLE[n] = c;
}
function crcBytes(crc: number, v: number, count: number): number {
  for (let k = 0; k < count; k++) {
    crc = CRC_TABLE[(crc ^ v) & 0xff]! ^ (crc >>> 8);
    v >>>= 8;
  }
  return crc;
}
for (const wide of [false, true]) {
  form(MAP_0F38 + (wide ? 0xf1 : 0xf0), PF2, (cpu, i) => {
    const size = wide ? i.opsize : 1;
    const lo = readRm(cpu, i, size);
    const hi = cpu.vHi;
    let crc = cpu.lo[i.reg]!;
    if (size === 8) crc = crcBytes(crcBytes(crc, lo, 4), hi, 4);
    else crc = crcBytes(crc, lo, size);
    // The destination is r32 (r64 with REX.W, upper half zero).
    writeReg(cpu, i, i.reg, i.opsize === 8 ? 8 : 4, crc, 0);
  });
}

// ---- RDRAND / RDSEED / RDPID ----
const pool = new Int32Array(256);
let poolAt = pool.length;
function random32(): number {
  if (poolAt >= pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool[poolAt++]!;
}
const rdrand: Handler = (cpu, i) => {
  if (i.mod !== 3 || i.rep) ud();
  const size = i.opsize;
  writeReg(cpu, i, i.rm, size, size === 2 ? random32() & 0xffff : random32(), size === 8 ? random32() : 0);
  cpu.flags.setEager(CF);
};
defGroup(MAP_0F + 0xc7, 6, rdrand);
defGroup(MAP_0F + 0xc7, 7, (cpu, i) => {
  if (i.mod === 3 && i.rep === 0xf3) {
    // RDPID: IA32_TSC_AUX, 64 bits in 64-bit mode (zero-extended) and 32 bits otherwise.
    const aux = Number(cpu.msrs.get(0xc0000103) ?? 0n) | 0;
    writeReg(cpu, i, i.rm, cpu.codeSize === 8 ? 8 : 4, aux, 0);
    return;
  }
  rdrand(cpu, i);
});

// ---- RDFSBASE / RDGSBASE / WRFSBASE / WRGSBASE (F3 0F AE /0-/3, mod 3) ----
export const fsgsbase: Handler = (cpu, i) => {
  if (cpu.codeSize !== 8 || !(cpu.cr4 & CR4_FSGSBASE)) ud();
  const r = i.reg & 7;
  const seg = r & 1 ? GS : FS;
  const size = i.opsize === 8 ? 8 : 4;
  if (r < 2) {
    const base = cpu.segBase[seg]!;
    const lo = base | 0;
    const hi = size === 8 ? Math.floor(base / 4294967296) | 0 : 0;
    writeReg(cpu, i, i.rm, size, lo, hi);
    return;
  }
  const v = size === 8 ? cpu.regNumber(i.rm) : cpu.lo[i.rm]! >>> 0;
  if (size === 8 && (v < -(2 ** 47) || v >= 2 ** 47)) gp(0);
  cpu.segBase[seg] = v;
};
group15Fsgs[0] = fsgsbase;
group15Fsgs[1] = fsgsbase;
group15Fsgs[2] = fsgsbase;
group15Fsgs[3] = fsgsbase;
void unimplemented;
