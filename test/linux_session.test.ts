// Debian's kernel as a user meets it: an interactive busybox shell on the terminal (test/helpers/pty_run.py)
// answering a command and powering off; and the reboot paths (reboot -f through the ACPI reset register,
// the i8042 and a triple fault) ending the run with status 0, or, with --reboot, booting the kernel again.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { before, test } from "node:test";
import { ROOT } from "./helpers/assemble.js";
import { accelerators } from "./helpers/kvm.js";
import {
  ensureLinuxGuest,
  INIT_OK,
  kvmLinuxSkipReason,
  LINUX_IMAGES,
  linuxArgs,
  runLinux,
} from "./helpers/linux_guest.js";
import { CLI } from "./helpers/run.js";

const BOOT_TIMEOUT_MS = Number(process.env.TSVMM_LINUX_TIMEOUT_MS ?? 600_000);

let missing: string | undefined;
before(() => {
  missing = ensureLinuxGuest();
});

for (const accel of accelerators()) {
  test(`an interactive shell on the terminal: the prompt, a command and its answer, poweroff [${accel}]`, (t) => {
    if (missing) assert.fail(missing);
    const slow = accel === "kvm" ? kvmLinuxSkipReason() : undefined;
    if (slow) {
      t.skip(slow);
      return;
    }
    const { args } = linuxArgs(accel, LINUX_IMAGES.bzimage, 1, ["tsvmm.action=shell"]);
    const steps = [
      ["/ # ", "echo $((6*7))-answer\n"],
      ["42-answer", "poweroff\n"],
    ];
    const stepArgs = steps.flatMap(([wait, input]) => [wait as string, Buffer.from(input as string).toString("hex")]);
    const r = spawnSync(
      "python3",
      [join(ROOT, "test", "helpers", "pty_run.py"), ...stepArgs, "--", process.execPath, CLI, ...args],
      {
        encoding: "utf8",
        timeout: BOOT_TIMEOUT_MS + 10_000,
        env: { ...process.env, PTY_RUN_SECONDS: String(BOOT_TIMEOUT_MS / 1000) },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const session = JSON.parse(r.stdout) as { output: string; status: number; restored: boolean };
    assert.match(session.output, /42-answer/);
    assert.match(session.output, /reboot: Power down/);
    assert.equal(session.status, 0, session.output.slice(-3000));
    assert.ok(session.restored);
  });

  for (const [how, words] of [
    ["reboot -f through the ACPI reset register (reboot=a)", ["reboot=a"]],
    ["reboot -f through the i8042 (reboot=k)", ["reboot=k"]],
    ["reboot -f through a triple fault (reboot=t)", ["reboot=t"]],
  ] as const) {
    test(`${how} ends the run with status 0 [${accel}]`, async (t) => {
      if (missing) assert.fail(missing);
      const slow = accel === "kvm" ? kvmLinuxSkipReason() : undefined;
      if (slow) {
        t.skip(slow);
        return;
      }
      const { args } = linuxArgs(accel, LINUX_IMAGES.pvh, 1, [...words, "tsvmm.action=reboot"]);
      const r = await runLinux(args, BOOT_TIMEOUT_MS);
      assert.ok(r.output.includes(INIT_OK), `${r.stderr}\n${r.output.slice(-3000)}`);
      assert.match(r.output, /reboot: Restarting system/);
      assert.equal(r.status, 0, r.stderr);
    });
  }

  test(`panic=-1: a kernel panic is on the console and reboots, which ends the run with status 0 [${accel}]`, async (t) => {
    if (missing) assert.fail(missing);
    const slow = accel === "kvm" ? kvmLinuxSkipReason() : undefined;
    if (slow) {
      t.skip(slow);
      return;
    }
    const { args } = linuxArgs(accel, LINUX_IMAGES.pvh, 1, ["tsvmm.action=panic"]);
    const r = await runLinux(args, BOOT_TIMEOUT_MS);
    assert.ok(r.output.includes(INIT_OK), `${r.stderr}\n${r.output.slice(-3000)}`);
    assert.match(r.output, /Kernel panic - not syncing/);
    assert.equal(r.status, 0, r.stderr);
  });

  test(`with --reboot, reboot -f boots the kernel again [${accel}]`, async (t) => {
    if (missing) assert.fail(missing);
    const slow = accel === "kvm" ? kvmLinuxSkipReason() : undefined;
    if (slow) {
      t.skip(slow);
      return;
    }
    const { args } = linuxArgs(accel, LINUX_IMAGES.pvh, 1, ["tsvmm.action=reboot"]);
    // Ended from here (SIGTERM: a clean stop, status 0) once the second boot reached /init.
    const r = await runLinux(["--reboot", ...args], 2 * BOOT_TIMEOUT_MS, (output, child) => {
      if (output.split(INIT_OK).length > 2) child.kill("SIGTERM");
    });
    assert.equal(r.output.split("Linux version").length - 1 >= 2, true, r.output.slice(-3000));
    assert.equal(r.output.split(INIT_OK).length - 1 >= 2, true, r.output.slice(-3000));
    assert.equal(r.status, 0, r.stderr);
  });
}
