import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SEED_CODE } from "../src/guests/seed.js";
import { createMachine } from "../src/vmm/machine.js";
import { assembleFlat } from "./helpers/assemble.js";
import { accelerators, kvmUsable, needsKvm } from "./helpers/kvm.js";
import { CLI, runCli, runMachine } from "./helpers/run.js";

test("guests/seed.S assembles to the embedded seed bytes", () => {
  assert.deepEqual(assembleFlat({ file: "seed.S" }), Buffer.from(SEED_CODE));
});

test("a bare tsvmm (npm start) runs the seed demo on the default accelerator: stdout is exactly 4 and a newline", () => {
  const r = runCli([]);
  assert.equal(r.stdout, "4\n");
  assert.equal(r.stderr, "");
  assert.equal(r.status, 0);
});

test("the default accelerator is KVM where /dev/kvm opens, else the emulator; the result says which ran", async () => {
  const r = await runMachine({});
  assert.equal(r.accel, kvmUsable() ? "kvm" : "emu");
  assert.equal(r.output, "4\n");
});

test(`"tcg" names the emulator, as in QEMU`, async () => {
  const r = await runMachine({ accel: "tcg" });
  assert.equal(r.accel, "emu");
  assert.equal(r.output, "4\n");
});

for (const accel of accelerators()) {
  test(`the seed demo prints exactly 4 and a newline, and halts just past the hlt [${accel}]`, async () => {
    const r = await runMachine({ accel });
    assert.equal(r.output, "4\n");
    assert.equal(r.reason.kind, "halt");
    assert.equal(r.status, 0);
    assert.equal(r.accel, accel);
  });

  test(`the seed demo with AX=3, BX=4 prints 7 [${accel}]`, async () => {
    const r = await runMachine({ accel, regs: { rax: 3n, rbx: 4n } });
    assert.equal(r.output, "7\n");
  });

  test(`RIP is just past the hlt when the seed demo stops [${accel}]`, async () => {
    const m = createMachine({ accel, console: () => {} });
    try {
      assert.equal(m.accel, accel);
      const r = await m.run();
      assert.equal(r.reason.kind, "halt");
      assert.equal(m.vcpu.getRegs().rip, BigInt(0x1000 + SEED_CODE.length));
    } finally {
      await m.close();
    }
  });

  test(`tsvmm --accel ${accel} runs the seed demo: stdout is exactly 4 and a newline, status 0 [${accel}]`, () => {
    const r = runCli(["--accel", accel]);
    assert.equal(r.stdout, "4\n");
    assert.equal(r.stderr, "");
    assert.equal(r.status, 0);
  });

  test(`tsvmm run loads a flat real-mode binary and --reg sets its registers [${accel}]`, () => {
    const file = join(mkdtempSync(join(tmpdir(), "tsvmm-")), "seed.bin");
    writeFileSync(file, assembleFlat({ file: "seed.S" }));
    const r = runCli(["run", "--accel", accel, "--mode", "real", "--reg", "rax=3", "--reg", "bx=4", file]);
    assert.equal(r.stdout, "7\n");
    assert.equal(r.status, 0);
  });
}

test("KVM_RUN goes through the native addon when it was built (CI builds it), and through koffi without it", async (t) => {
  if (!needsKvm(t)) return;
  const { nativeKvm } = await import("../src/accel/kvm/native_run.js");
  if (process.env.CI) assert.ok(nativeKvm(), "CI builds the native KVM_RUN addon at npm ci");
  const r = spawnSync(process.execPath, [CLI, "--accel", "kvm"], {
    encoding: "utf8",
    env: { ...process.env, TSVMM_NATIVE: "0" },
  });
  assert.equal(r.stdout, "4\n");
  assert.equal(r.status, 0);
});
