// The emulator's machine clock: host time by default; a virtual clock skips the time every vCPU spends halted.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildFlat } from "./helpers/build_guest.js";
import { runCli } from "./helpers/run.js";

const GUEST_EXIT = (0x21 << 1) | 1;
const HALF_SECOND_MS = 500;

/** Runs guests/idle_timer.S (N waits of 0.5 s for the local APIC timer); returns guest and host milliseconds. */
function idle(waits: number, clock: string): { guestMs: number; hostMs: number } {
  const file = buildFlat("idle_timer.S", 0x100000);
  const started = performance.now();
  const r = runCli([
    "run",
    "--accel",
    "emu",
    "--mode",
    "protected",
    "--irqchip",
    "--clock",
    clock,
    "--reg",
    `ecx=${waits}`,
    file,
  ]);
  const hostMs = performance.now() - started;
  assert.equal(r.status, GUEST_EXIT, `${r.stdout}${r.stderr}`);
  const m = /^elapsed: (\d+) ms\n$/.exec(r.stdout);
  assert.ok(m, `unexpected output ${JSON.stringify(r.stdout)}`);
  return { guestMs: Number(m[1]), hostMs };
}

test("with the host clock, guest time is host time: a 0.5 s APIC timer wait takes 0.5 s of both [emu]", () => {
  const { guestMs, hostMs } = idle(1, "host");
  assert.ok(guestMs >= HALF_SECOND_MS && guestMs < 4 * HALF_SECOND_MS, `guest ${guestMs} ms`);
  assert.ok(hostMs >= HALF_SECOND_MS, `the run took ${hostMs.toFixed(0)} ms of host time`);
});

test("with --clock virtual, halted time is skipped: ten 0.5 s waits pass in the guest, not on the host [emu]", () => {
  const { guestMs, hostMs } = idle(10, "virtual");
  assert.ok(guestMs >= 10 * HALF_SECOND_MS, `guest ${guestMs} ms`);
  // What makes the clock virtual: the guest saw more time pass than the host did.
  assert.ok(hostMs < guestMs / 2, `host ${hostMs.toFixed(0)} ms for ${guestMs} ms of guest time`);
});

test("--clock is host or virtual, and virtual needs the emulator: one line each", () => {
  const bad = runCli(["--accel", "emu", "--clock", "sundial"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^tsvmm: --clock sundial is invalid: it must be host or virtual\n$/);
  const kvm = runCli(["--accel", "kvm", "--clock", "virtual"]);
  assert.equal(kvm.status, 2);
  assert.match(kvm.stderr, /^tsvmm: (--clock virtual needs the emulator \(--accel emu\)|--accel kvm: .*)\n$/);
});
