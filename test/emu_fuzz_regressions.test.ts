// Every mismatch the differential fuzzer (npm run fuzz -- cpu, fuzz/) found against unicorn and that was the
// emulator's, minimised to one instruction and state, with the reference's outcome (memory is filled from
// memSeed as the fuzzer fills it; `mem` lists the bytes that differ from the initial memory afterwards). Runs
// on the emulator alone: no unicorn needed. New entries come ready-made from the fuzzer's output.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EmuTarget, parseCode } from "../fuzz/cpu_fuzz.js";
import { initialMemory, MEM_SIZE } from "../fuzz/generator.js";
import type { Mode } from "../fuzz/unicorn.js";

interface Regression {
  name: string;
  mode: Mode;
  code: string;
  regs: bigint[];
  flags: number;
  memSeed: number;
  expect: { regs: bigint[]; rip: number; flags: number; flagsMask: number; vector: number; mem: [number, number][] };
}

const CASES: Regression[] = [
  {
    name: "LOOP with 67 in 64-bit mode writes ECX zero-extended (was: RCX's upper half kept)",
    mode: 64,
    code: "67 e2 00",
    regs: [
      0x0n,
      0xa8749bdc5aefcd3bn,
      0x0n,
      0x0n,
      0x7a00n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
    ],
    flags: 0x2,
    memSeed: 0,
    expect: {
      regs: [0x0n, 0x5aefcd3an, 0x0n, 0x0n, 0x7a00n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n],
      rip: 0x1003,
      flags: 0x0,
      flagsMask: 0xcd5,
      vector: -1,
      mem: [],
    },
  },
  {
    name: "MOVSX from an EIP-relative byte (67 in 64-bit mode) (was: read from disp32 alone)",
    mode: 64,
    code: "67 0f be 3d 9f 37 00 00",
    regs: [0x0n, 0x0n, 0x0n, 0x0n, 0x7a00n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n],
    flags: 0x2,
    memSeed: 1234567,
    expect: {
      regs: [0x0n, 0x0n, 0x0n, 0x0n, 0x7a00n, 0x0n, 0x0n, 0x39n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n],
      rip: 0x1008,
      flags: 0x0,
      flagsMask: 0xcd5,
      vector: -1,
      mem: [],
    },
  },
  {
    name: "ADD CL, [eip+disp32] (was: read from disp32 alone)",
    mode: 64,
    code: "67 02 0d a4 4c 00 00",
    regs: [0x0n, 0x0n, 0x0n, 0x0n, 0x7a00n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n],
    flags: 0x2,
    memSeed: 7654321,
    expect: {
      regs: [0x0n, 0xa1n, 0x0n, 0x0n, 0x7a00n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n, 0x0n],
      rip: 0x1007,
      flags: 0x80,
      flagsMask: 0xcd5,
      vector: -1,
      mem: [],
    },
  },
  {
    name: "66 REX.W POP r15 pops 8 bytes (was: 2)",
    mode: 64,
    code: "66 49 5f",
    regs: [
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x7a00n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x1122334455667788n,
    ],
    flags: 0x2,
    memSeed: 99,
    expect: {
      regs: [
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x7a08n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x7264985ea9bf8732n,
      ],
      rip: 0x1003,
      flags: 0x0,
      flagsMask: 0xcd5,
      vector: -1,
      mem: [],
    },
  },
  {
    name: "66 REX.W PUSH rax pushes 8 bytes (was: 2)",
    mode: 64,
    code: "66 48 50",
    regs: [
      0x1122334455667788n,
      0x0n,
      0x0n,
      0x0n,
      0x7a00n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
    ],
    flags: 0x2,
    memSeed: 0,
    expect: {
      regs: [
        0x1122334455667788n,
        0x0n,
        0x0n,
        0x0n,
        0x79f8n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
      ],
      rip: 0x1003,
      flags: 0x0,
      flagsMask: 0xcd5,
      vector: -1,
      mem: [
        [0x79f8, 0x88],
        [0x79f9, 0x77],
        [0x79fa, 0x66],
        [0x79fb, 0x55],
        [0x79fc, 0x44],
        [0x79fd, 0x33],
        [0x79fe, 0x22],
        [0x79ff, 0x11],
      ],
    },
  },
  {
    name: "[rax+r8*2] wraps modulo 2^64 to 0x4468 (was: summed as doubles, rounded, read elsewhere)",
    mode: 64,
    code: "42 83 3c 40 fa",
    regs: [
      0xa119eb35ffffb078n,
      0x0n,
      0x0n,
      0x0n,
      0x7a00n,
      0x0n,
      0x0n,
      0x0n,
      0x2f730a65000049f8n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
    ],
    flags: 0x2,
    memSeed: 737973177,
    expect: {
      regs: [
        0xa119eb35ffffb078n,
        0x0n,
        0x0n,
        0x0n,
        0x7a00n,
        0x0n,
        0x0n,
        0x0n,
        0x2f730a65000049f8n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
      ],
      rip: 0x1005,
      flags: 0x11,
      flagsMask: 0xcd5,
      vector: -1,
      mem: [],
    },
  },
  {
    name: "BTC [esi], rsi with a bit offset beyond 2^53 flips bit 14 at 0x4ade (was: the offset rounded as a double)",
    mode: 64,
    code: "67 48 0f bb 36",
    regs: [
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x7b90n,
      0x0n,
      0x3506b2c00000428en,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
      0x0n,
    ],
    flags: 0x2,
    memSeed: 0,
    expect: {
      regs: [
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x7b90n,
        0x0n,
        0x3506b2c00000428en,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
        0x0n,
      ],
      rip: 0x1005,
      flags: 0x0,
      flagsMask: 0x441,
      vector: -1,
      mem: [[0x4adf, 0x40]],
    },
  },
];

const targets = new Map<Mode, EmuTarget>();

for (const r of CASES) {
  test(`${r.mode}-bit ${r.code}: ${r.name}`, () => {
    let emu = targets.get(r.mode);
    if (!emu) {
      emu = new EmuTarget(r.mode);
      targets.set(r.mode, emu);
    }
    const regs = Array.from({ length: 16 }, (_, k) => r.regs[k] ?? 0n);
    const c = { mode: r.mode, insns: parseCode(r.code), regs, flags: r.flags, memSeed: r.memSeed };
    const out = emu.run(c);
    assert.equal(out.skip, undefined);
    assert.equal(out.vector, r.expect.vector, "exception");
    assert.deepEqual(out.regs, r.expect.regs, "registers");
    assert.equal(out.ip, r.expect.rip, "rip");
    assert.equal(out.flags & r.expect.flagsMask, r.expect.flags & r.expect.flagsMask, "flags");
    const expected = initialMemory(c, new Uint8Array(MEM_SIZE));
    for (const [a, v] of r.expect.mem) expected[a] = v;
    assert.ok(Buffer.from(out.mem).equals(Buffer.from(expected)), "memory");
  });
}
