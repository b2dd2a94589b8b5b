// A short pass of the differential CPU fuzzer (npm run fuzz -- cpu runs the full campaign): a few thousand
// random integer instruction sequences from a fixed seed, in 16-, 32- and 64-bit code, on the emulator and on
// unicorn (QEMU's TCG CPU, Debian's libunicorn2, through koffi); every register, RIP, the defined flags, the
// exception and memory must agree. Skips when libunicorn is not installed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fuzzMode } from "../fuzz/cpu_fuzz.js";
import { generate, Rng } from "../fuzz/generator.js";
import { type Mode, unicornUnavailable } from "../fuzz/unicorn.js";

const skip = unicornUnavailable();
const CASES = 1500;

for (const mode of [16, 32, 64] as Mode[]) {
  test(`emulator vs unicorn, ${mode}-bit code: ${CASES} random cases agree`, { skip }, () => {
    const r = fuzzMode(mode, CASES, 0x5eed + mode, generate, Rng);
    assert.ok(r.compared > CASES / 2, `only ${r.compared} of ${r.cases} cases were comparable`);
    assert.equal(r.mismatches, 0, `mismatches:\n${r.regressions.join("\n")}`);
  });
}
