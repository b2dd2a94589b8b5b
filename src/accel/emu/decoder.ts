// The instruction decoder (Intel SDM vol. 2, chapter 2): legacy prefixes, REX, the one-, two- and
// three-byte opcode maps, ModRM/SIB with 16-, 32- and 64-bit addressing, displacements and immediates.
// It reads bytes through a fetch function (which checks CS limits and paging and may fault).
import { CS, DS, ES, FS, GS, SS } from "./cpu.js";
import { fault, GP, ud } from "./fault.js";
import { Insn, MAP_0F, MAP_0F3A, MAP_0F38 } from "./insn.js";
import { endsBlock, groups, handlers, invalid, isGroup, unimplemented } from "./opcodes.js";

/** Immediate kinds. */
const enum Imm {
  NONE = 0,
  /** 8-bit, sign-extended. */
  B = 1,
  /** 16-bit. */
  W = 2,
  /** 16 or 32 bits by operand size (32 sign-extended for 64-bit operands). */
  Z = 3,
  /** 16, 32 or 64 bits by operand size (MOV r, imm). */
  V = 4,
  /** ENTER: imm16 then imm8. */
  WB = 5,
  /** Far pointer: offset (16/32) then selector. */
  FAR = 6,
  /** A memory offset the width of the address size (MOV AL/rAX, moffs). */
  MOFFS = 7,
  /** F6/F7: an immediate only for TEST (/0, /1). */
  TEST = 8,
}

const NO_MODRM = 0;
const MODRM = 1;

/** ModRM presence and immediate kind per opcode of the one-byte map. */
const ONE_BYTE_MODRM = new Uint8Array(256);
const ONE_BYTE_IMM = new Uint8Array(256);
const TWO_BYTE_MODRM = new Uint8Array(256).fill(MODRM);
const TWO_BYTE_IMM = new Uint8Array(256);

function range(from: number, to: number): number[] {
  const r: number[] = [];
  for (let i = from; i <= to; i++) r.push(i);
  return r;
}

for (let row = 0; row < 4; row++) {
  for (const col of [0, 8]) {
    const base = row * 0x10 + col;
    for (let k = 0; k < 4; k++) ONE_BYTE_MODRM[base + k] = MODRM;
    ONE_BYTE_IMM[base + 4] = Imm.B;
    ONE_BYTE_IMM[base + 5] = Imm.Z;
  }
}
for (const op of [0x62, 0x63, 0x69, 0x6b, ...range(0x80, 0x8f), 0xc0, 0xc1, 0xc4, 0xc5, 0xc6, 0xc7]) {
  ONE_BYTE_MODRM[op] = MODRM;
}
for (const op of [...range(0xd0, 0xd3), ...range(0xd8, 0xdf), 0xf6, 0xf7, 0xfe, 0xff]) ONE_BYTE_MODRM[op] = MODRM;
for (const op of [0x6a, 0x6b, ...range(0x70, 0x7f), 0x80, 0x82, 0x83, 0xa8, ...range(0xb0, 0xb7), 0xc0, 0xc1]) {
  ONE_BYTE_IMM[op] = Imm.B;
}
for (const op of [0xc6, 0xcd, 0xd4, 0xd5, ...range(0xe0, 0xe7), 0xeb]) ONE_BYTE_IMM[op] = Imm.B;
for (const op of [0x68, 0x69, 0x81, 0xa9, 0xc7, 0xe8, 0xe9]) ONE_BYTE_IMM[op] = Imm.Z;
for (const op of range(0xb8, 0xbf)) ONE_BYTE_IMM[op] = Imm.V;
ONE_BYTE_IMM[0xc2] = Imm.W;
ONE_BYTE_IMM[0xca] = Imm.W;
ONE_BYTE_IMM[0xc8] = Imm.WB;
ONE_BYTE_IMM[0x9a] = Imm.FAR;
ONE_BYTE_IMM[0xea] = Imm.FAR;
for (const op of range(0xa0, 0xa3)) ONE_BYTE_IMM[op] = Imm.MOFFS;
ONE_BYTE_IMM[0xf6] = Imm.TEST;
ONE_BYTE_IMM[0xf7] = Imm.TEST;

for (const op of [0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x0e, ...range(0x30, 0x37), 0x77, 0xa0, 0xa1, 0xa2]) {
  TWO_BYTE_MODRM[op] = NO_MODRM;
}
for (const op of [0xa8, 0xa9, 0xaa, ...range(0x80, 0x8f), ...range(0xc8, 0xcf)]) TWO_BYTE_MODRM[op] = NO_MODRM;
for (const op of range(0x80, 0x8f)) TWO_BYTE_IMM[op] = Imm.Z;
for (const op of [0x70, 0x71, 0x72, 0x73, 0xa4, 0xac, 0xba, 0xc2, 0xc4, 0xc5, 0xc6]) TWO_BYTE_IMM[op] = Imm.B;

/** Opcodes whose operand size is 64 bits by default in 64-bit mode (stack operations, near branches). */
const DEFAULT_64 = new Set([
  ...range(0x50, 0x5f),
  0x68,
  0x6a,
  0x8f,
  0x9c,
  0x9d,
  0xc2,
  0xc3,
  0xc8,
  0xc9,
  0xe8,
  0xe9,
  0xeb,
  ...range(0x70, 0x7f),
  ...range(0xe0, 0xe3),
  0xff,
  MAP_0F + 0xa0,
  MAP_0F + 0xa1,
  MAP_0F + 0xa8,
  MAP_0F + 0xa9,
  ...range(MAP_0F + 0x80, MAP_0F + 0x8f),
]);

/** The longest legal instruction (SDM vol. 2, 2.3.11): longer ones raise #GP. */
const MAX_LENGTH = 15;

/** 16-bit addressing: base and index per ModRM.rm (SDM vol. 2, table 2-1). */
const BASE16 = [3, 3, 5, 5, 6, 7, 5, 3];
const INDEX16 = [6, 7, 6, 7, -1, -1, -1, -1];

export type Fetch = (offset: number) => number;

/**
 * Decodes one instruction whose first byte is at code offset `ip`, for code of default size `codeSize`
 * (2, 4 or 8 bytes). `fetch` returns the byte at a code offset (and faults as an instruction fetch would).
 */
export function decode(fetch: Fetch, ip: number, codeSize: number): Insn {
  const i = new Insn();
  const long = codeSize === 8;
  let at = 0;
  const bytes = i.bytes;
  const next = (): number => {
    if (at >= MAX_LENGTH) fault(GP, 0);
    const b = fetch(ip + at++);
    bytes.push(b);
    return b;
  };

  let opsizePrefix = false;
  let adsizePrefix = false;
  let seg = -1;
  let rex = 0;
  let b: number;
  for (;;) {
    b = next();
    if (b === 0x66) opsizePrefix = true;
    else if (b === 0x67) adsizePrefix = true;
    else if (b === 0x26) seg = ES;
    else if (b === 0x2e) seg = CS;
    else if (b === 0x36) seg = SS;
    else if (b === 0x3e) seg = DS;
    else if (b === 0x64) seg = FS;
    else if (b === 0x65) seg = GS;
    else if (b === 0xf0) i.lock = true;
    else if (b === 0xf2 || b === 0xf3) i.rep = b;
    else {
      rex = 0;
      if (long && (b & 0xf0) === 0x40) {
        // REX counts only directly before the opcode; a prefix after it cancels it.
        rex = b;
        b = next();
        while (long && (b & 0xf0) === 0x40) {
          rex = b;
          b = next();
        }
        if (
          b === 0x66 ||
          b === 0x67 ||
          b === 0xf0 ||
          b === 0xf2 ||
          b === 0xf3 ||
          [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65].includes(b)
        ) {
          // A legacy prefix after REX: REX is ignored and decoding continues with the prefix.
          at--;
          bytes.pop();
          continue;
        }
      }
      break;
    }
  }
  i.rex = rex !== 0;
  i.prefix66 = opsizePrefix;
  const rexW = (rex & 8) !== 0;
  const rexR = (rex & 4) << 1;
  const rexX = (rex & 2) << 2;
  const rexB = (rex & 1) << 3;

  let op = b;
  if (b === 0x0f) {
    const b2 = next();
    if (b2 === 0x38) op = MAP_0F38 + next();
    else if (b2 === 0x3a) op = MAP_0F3A + next();
    else op = MAP_0F + b2;
  }
  i.op = op;

  if (long) {
    i.opsize = rexW ? 8 : opsizePrefix ? 2 : 4;
    i.adsize = adsizePrefix ? 4 : 8;
    i.stackSize = opsizePrefix && !rexW ? 2 : 8;
    if (DEFAULT_64.has(op) && !rexW && !opsizePrefix) i.opsize = 8;
  } else {
    const d = codeSize === 4;
    i.opsize = d !== opsizePrefix ? 4 : 2;
    i.adsize = d !== adsizePrefix ? 4 : 2;
    i.stackSize = i.opsize;
  }

  let hasModrm: boolean;
  let immKind: number;
  if (op < MAP_0F) {
    hasModrm = ONE_BYTE_MODRM[op] === MODRM;
    immKind = ONE_BYTE_IMM[op]!;
  } else if (op < MAP_0F38) {
    hasModrm = TWO_BYTE_MODRM[op - MAP_0F] === MODRM;
    immKind = TWO_BYTE_IMM[op - MAP_0F]!;
  } else {
    hasModrm = true;
    immKind = op >= MAP_0F3A ? Imm.B : Imm.NONE;
  }

  i.seg = DS;
  // Without ModRM, REX.B extends the register in the opcode's low bits (50+r, B8+r, 90+r, 0F C8+r).
  if (!hasModrm) i.rm = rexB;
  if (hasModrm) {
    const modrm = next();
    const mod = modrm >> 6;
    i.mod = mod;
    i.reg = ((modrm >> 3) & 7) | rexR;
    // Of group 5 (FF) only CALL, JMP and PUSH (/2, /4, /6) default to 64 bits in 64-bit mode: INC, DEC
    // and the far forms stay 32-bit without REX.W.
    if (op === 0xff && long && !rexW && !opsizePrefix && (i.reg & 7) !== 2 && (i.reg & 7) !== 4 && (i.reg & 7) !== 6)
      i.opsize = 4;
    const rm = modrm & 7;
    if (mod === 3) {
      i.rm = rm | rexB;
    } else if (i.adsize === 2) {
      if (mod === 0 && rm === 6) {
        i.disp = next() | (next() << 8);
      } else {
        i.base = BASE16[rm]!;
        i.index = INDEX16[rm]!;
        if (i.base === 5) i.seg = SS;
        if (mod === 1) i.disp = (next() << 24) >> 24;
        else if (mod === 2) i.disp = next() | (next() << 8);
      }
    } else {
      let base = rm;
      if (rm === 4) {
        const sib = next();
        i.scale = sib >> 6;
        const index = ((sib >> 3) & 7) | rexX;
        i.index = index === 4 ? -1 : index;
        base = sib & 7;
        if (base === 5 && mod === 0) {
          i.base = -1;
          i.disp = next() | (next() << 8) | (next() << 16) | (next() << 24);
        } else {
          i.base = base | rexB;
        }
      } else if (rm === 5 && mod === 0) {
        i.base = -1;
        i.ripRelative = long;
        i.disp = next() | (next() << 8) | (next() << 16) | (next() << 24);
      } else {
        i.base = rm | rexB;
      }
      if (i.base === 4 || i.base === 5) i.seg = SS;
      if (mod === 1) i.disp = (next() << 24) >> 24;
      else if (mod === 2) i.disp = next() | (next() << 8) | (next() << 16) | (next() << 24);
    }
  }
  if (seg >= 0) {
    i.seg = seg;
    i.segOverride = true;
  }

  switch (immKind) {
    case Imm.B:
      i.imm = (next() << 24) >> 24;
      break;
    case Imm.W:
      i.imm = next() | (next() << 8);
      break;
    case Imm.Z:
      i.imm = i.opsize === 2 ? next() | (next() << 8) : next() | (next() << 8) | (next() << 16) | (next() << 24);
      break;
    case Imm.V:
      if (i.opsize === 2) i.imm = next() | (next() << 8);
      else {
        i.imm = next() | (next() << 8) | (next() << 16) | (next() << 24);
        if (i.opsize === 8) i.immHi = next() | (next() << 8) | (next() << 16) | (next() << 24);
      }
      break;
    case Imm.WB:
      i.imm = next() | (next() << 8);
      i.imm2 = next();
      break;
    case Imm.FAR:
      if (long) ud();
      i.imm =
        i.opsize === 2 ? next() | (next() << 8) : (next() | (next() << 8) | (next() << 16) | (next() << 24)) >>> 0;
      i.imm2 = next() | (next() << 8);
      break;
    case Imm.MOFFS: {
      let lo = 0;
      let hi = 0;
      if (i.adsize === 2) lo = next() | (next() << 8);
      else {
        lo = next() | (next() << 8) | (next() << 16) | (next() << 24);
        if (i.adsize === 8) hi = next() | (next() << 8) | (next() << 16) | (next() << 24);
      }
      i.disp = i.adsize === 8 ? hi * 4294967296 + (lo >>> 0) : lo >>> 0;
      break;
    }
    case Imm.TEST:
      if ((i.reg & 7) >> 1 === 0) {
        if (op === 0xf6) i.imm = (next() << 24) >> 24;
        else i.imm = i.opsize === 2 ? next() | (next() << 8) : next() | (next() << 8) | (next() << 16) | (next() << 24);
      }
      break;
  }
  i.len = at;

  if (isGroup(op)) {
    i.exec = groups[op]![i.reg & 7] ?? unimplemented;
  } else {
    i.exec = handlers[op] ?? unimplemented;
  }
  i.endsBlock = endsBlock(op, i.reg & 7);
  if (i.lock && !lockable(op, i)) i.exec = invalid;
  return i;
}

/** LOCK is allowed only on read-modify-write instructions with a memory destination (SDM vol. 2, LOCK). */
function lockable(op: number, i: Insn): boolean {
  if (i.mod === 3) return false;
  if (op < 0x40 && (op & 7) < 2 && (op & 0x38) !== 0x38) return true; // ADD..XOR r/m, r (not CMP)
  if (op === 0x80 || op === 0x81 || op === 0x83) return (i.reg & 7) !== 7;
  if (op === 0x86 || op === 0x87) return true;
  if (op === 0xf6 || op === 0xf7) return (i.reg & 7) === 2 || (i.reg & 7) === 3;
  if (op === 0xfe || op === 0xff) return (i.reg & 7) < 2;
  if (op === MAP_0F + 0xab || op === MAP_0F + 0xb3 || op === MAP_0F + 0xbb) return true;
  if (op === MAP_0F + 0xba) return (i.reg & 7) >= 5;
  if (op === MAP_0F + 0xb0 || op === MAP_0F + 0xb1 || op === MAP_0F + 0xc0 || op === MAP_0F + 0xc1) return true;
  if (op === MAP_0F + 0xc7) return (i.reg & 7) === 1;
  return false;
}
