// Several vCPUs: APs woken by INIT-SIPI-SIPI report their APIC IDs; the boot CPU finds them in the MP table.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildFlat } from "./helpers/build_guest.js";
import { accelerators } from "./helpers/kvm.js";
import { runCli } from "./helpers/run.js";

for (const accel of accelerators())
  for (const cpus of [4, 8]) {
    test(`--cpus ${cpus}: every AP starts through INIT-SIPI-SIPI and reports its APIC ID [${accel}]`, () => {
      const file = buildFlat("smp.S", 0x100000);
      const r = runCli(["run", "--accel", accel, "--mode", "protected", "--cpus", String(cpus), file]);
      assert.equal(r.status, (0x30 << 1) | 1, r.stderr);
      const lines = r.stdout.trimEnd().split("\n");
      assert.equal(lines[0], `mptable: cpus=${cpus} ioapic=fec00000`);
      assert.equal(lines.at(-1), `bsp: aps=${cpus - 1}`);
      const aps = lines.slice(1, -1).sort();
      assert.deepEqual(
        aps,
        Array.from({ length: cpus - 1 }, (_, i) => `ap ${i + 1}`),
      );
    });
  }

test("--cpus out of range is refused in one line, on any accelerator", () => {
  for (const accel of ["kvm", "emu"]) {
    for (const n of ["0", "33", "two"]) {
      const r = runCli(["run", "--accel", accel, "--mode", "protected", "--cpus", n, buildFlat("smp.S", 0x100000)]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /^tsvmm: --cpus.*\n$/);
    }
  }
});
