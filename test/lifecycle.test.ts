// Guests that never halt, and guests that fault: each ends promptly with a clear account.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { assembleFlat } from "./helpers/assemble.js";
import { accelerators } from "./helpers/kvm.js";
import { runCli, runMachine } from "./helpers/run.js";

const flat = (file: string) => ({
  kind: "flat" as const,
  name: file,
  data: assembleFlat({ file }),
  mode: "real" as const,
});

for (const accel of accelerators()) {
  test(`a guest spinning without exits is stopped by the host [${accel}]`, async () => {
    const started = Date.now();
    const r = await runMachine({ accel, image: flat("spin.S") }, (m) => {
      setTimeout(() => m.stop(), 300);
    });
    assert.equal(r.output, "spinning\n");
    assert.equal(r.reason.kind, "stopped");
    assert.equal(r.status, 0);
    const took = Date.now() - started;
    assert.ok(took >= 300 && took < 10_000, `stopped after ${took} ms`);
  });

  test(`stop() before the vCPU enters the guest still stops it [${accel}]`, async () => {
    const r = await runMachine({ accel, image: flat("spin.S") }, (m) => m.stop());
    assert.equal(r.reason.kind, "stopped");
  });

  test(`a jump to memory outside RAM ends with a report of the fault, not a hang [${accel}]`, async () => {
    const r = await runMachine({ accel, image: flat("jump_unmapped.S"), memorySize: 64 << 10 });
    assert.notEqual(r.reason.kind, "stopped", "the guest ran until the test's timeout");
    assert.notEqual(r.reason.kind, "halt");
    assert.equal(r.status, 1);
    assert.ok(r.description.failed);
    const report = `${r.description.summary}\n${r.description.details}`;
    if (accel === "kvm") {
      assert.match(report, /KVM_INTERNAL_ERROR_EMULATION|KVM_EXIT_/);
      assert.match(report, /mode real/);
      assert.match(report, /cs +sel=9000 base=0000000000090000/);
      assert.match(report, /at 9000:0 +\(gpa 0x90000 is outside guest RAM\)/);
    } else {
      assert.match(report, /instruction fetch from guest physical 0x90000, outside guest RAM/);
      assert.match(report, /mode real/);
      assert.match(report, /cs +sel=9000 base=0000000000090000/);
      assert.match(report, /at 9000:0 +\(gpa 0x90000 is outside guest RAM\)/);
    }
  });

  test(`closing a machine releases every file descriptor it opened [${accel}]`, async () => {
    const fds = () => readdirSync("/proc/self/fd").length;
    await runMachine({ accel, console: () => {} }); // warm up: libraries and worker infrastructure load once
    const before = fds();
    for (let i = 0; i < 3; i++) await runMachine({ accel });
    assert.equal(fds(), before);
  });

  test(`--trace shows every access and the stop with the instruction at RIP, unclaimed accesses marked [${accel}]`, () => {
    const file = join(mkdtempSync(join(tmpdir(), "tsvmm-")), "unclaimed.bin");
    writeFileSync(file, assembleFlat({ file: "unclaimed.S" }));
    const r = runCli(["run", "--accel", accel, "--trace", file]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 3, r.stderr);
    const at = String.raw` \| 0000:[0-9a-f]+ +gpa 0x[0-9a-f]+: [0-9a-f ]+ +\S.*`;
    assert.match(lines[0] as string, new RegExp(`^trace: io out port 0x99 size 1 data \\[2a\\]${at} \\(unclaimed\\)$`));
    assert.match(lines[1] as string, new RegExp(`^trace: io in port 0x9a size 1 data \\[ff\\]${at} \\(unclaimed\\)$`));
    assert.match(lines[2] as string, /^trace: halt \| 0000:1007 /); // just past the hlt
  });
}
