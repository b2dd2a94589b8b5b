// Bad input gets one line on stderr naming the problem, and exit status 2.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { kvmUsable } from "./helpers/kvm.js";
import { CLI, runCli } from "./helpers/run.js";

const dir = mkdtempSync(join(tmpdir(), "tsvmm-cli-"));
const small = join(dir, "small.bin");
writeFileSync(small, Uint8Array.of(0xf4));
const big = join(dir, "big.bin");
writeFileSync(big, new Uint8Array(128 << 10));

function assertOneLineError(args: string[], pattern: RegExp): void {
  const r = runCli(args);
  assert.equal(r.status, 2, `status for ${args.join(" ")}: ${r.stderr}`);
  assert.equal(r.stdout, "");
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `one line for ${args.join(" ")}: ${r.stderr}`);
  assert.match(lines[0] as string, /^tsvmm: /);
  assert.match(lines[0] as string, pattern);
}

test("a missing file is named", () => {
  assertOneLineError(["run", join(dir, "nope.bin")], /nope\.bin: no such file/);
});

test("a file larger than guest memory is refused, on any host and whatever the accelerator", () => {
  const tooBig = /big\.bin: 0x20000 bytes at 0x1000 do not fit in guest RAM \(0x10000 bytes\)/;
  assertOneLineError(["run", "--memory", "64K", big], tooBig);
  // The image is checked before any accelerator opens: a bad image reads as a bad image without KVM too.
  for (const accel of ["kvm", "emu"]) assertOneLineError(["run", "--accel", accel, "--memory", "64K", big], tooBig);
});

test("bad numbers and sizes are named", () => {
  assertOneLineError(["run", "--load", "0xzz", small], /--load: "0xzz" is not a number/);
  assertOneLineError(["run", "--memory", "lots", small], /--memory: "lots" is not a size/);
  assertOneLineError(["run", "--memory", "100", small], /memory size 100 is invalid/);
  assertOneLineError(["run", "--reg", "rax=two", small], /--reg rax: "two" is not a number/);
});

test("an unknown register, option or command is named", () => {
  assertOneLineError(["run", "--reg", "xyz=1", small], /unknown register "xyz"/);
  assertOneLineError(["run", "--reg", "rax", small], /"rax" is not NAME=VALUE/);
  assertOneLineError(["--frobnicate"], /Unknown option '--frobnicate'/);
  assertOneLineError(["launch"], /unknown command "launch"/);
  assertOneLineError(["run", "--mode", "hyper", small], /--mode: unknown mode "hyper"/);
});

test("an unknown accelerator is named", () => {
  assertOneLineError(["--accel", "bogus"], /^tsvmm: --accel: unknown accelerator "bogus" \(expected kvm, emu, tcg\)$/);
});

test("--accel kvm without /dev/kvm is one line naming the device", (t) => {
  if (kvmUsable()) {
    t.skip("/dev/kvm is usable here");
    return;
  }
  assertOneLineError(["--accel", "kvm"], /^tsvmm: --accel kvm: cannot open \/dev\/kvm: /);
});

test("what only KVM has, or what the emulator does not implement, is refused on the emulator, in one line", () => {
  assertOneLineError(
    ["--accel", "emu", "--cpu", "host"],
    /^tsvmm: --cpu host needs KVM; the emulator's default is --cpu max$/,
  );
  assertOneLineError(["--accel", "emu", "--cpu", "max,+avx"], /^tsvmm: --cpu: the emulator cannot offer "avx"$/);
  assertOneLineError(["--accel", "emu", "--cpu", "max,+nosuchfeature"], /unknown CPU feature "nosuchfeature"/);
});

test("no KVM device, or something else in its place, is named", () => {
  assertOneLineError(["--kvm", join(dir, "no-kvm")], /cannot open .*no-kvm: no such device/);
  assertOneLineError(["--kvm", "/dev/null"], /\/dev\/null is not a KVM device/);
});

test("no permission to open the KVM device is named", (t) => {
  if (!existsSync("/usr/bin/setpriv") || process.getuid?.() !== 0) {
    t.skip("needs root and setpriv to drop the capability that bypasses file permissions");
    return;
  }
  const locked = join(dir, "locked-kvm");
  writeFileSync(locked, "");
  chmodSync(locked, 0o000);
  const dropped = "-dac_override,-dac_read_search";
  const r = spawnSync(
    "/usr/bin/setpriv",
    [`--bounding-set=${dropped}`, `--inh-caps=${dropped}`, process.execPath, CLI, "--kvm", locked],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^tsvmm: cannot open .*locked-kvm: permission denied.*\n$/);
});
