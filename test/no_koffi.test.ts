// The emulator path needs no native code: in a process where loading koffi (or the KVM addon) fails, the
// library and the CLI still load, and guests run on the emulator.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT } from "./helpers/assemble.js";
import { buildFlat } from "./helpers/build_guest.js";
import { CLI } from "./helpers/run.js";

const dir = mkdtempSync(join(tmpdir(), "tsvmm-nokoffi-"));
/** A preload (-r, inherited by worker threads) under which require("koffi") and the addon throw. */
const BLOCKER = join(dir, "block_koffi.cjs");
writeFileSync(
  BLOCKER,
  `const Module = require("node:module");
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === "koffi" || /kvm_run\\.node$/.test(request)) throw new Error("koffi is blocked: " + request);
  return load.call(this, request, ...rest);
};
`,
);

function node(args: string[]) {
  return spawnSync(process.execPath, ["-r", BLOCKER, ...args], {
    encoding: "utf8",
    timeout: 30_000,
    killSignal: "SIGKILL",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

test("without koffi, the library and the CLI load", () => {
  const index = join(ROOT, "dist", "src", "index.js");
  const r = node(["--input-type=module", "-e", `await import(${JSON.stringify(index)}); console.log("loaded");`]);
  assert.equal(r.stderr, "");
  assert.equal(r.stdout, "loaded\n");
  const help = node([CLI, "--help"]);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: tsvmm/);
});

test("without koffi, the seed demo runs on the emulator and prints exactly 4", () => {
  const r = node([CLI, "--accel", "emu"]);
  assert.equal(r.stderr, "");
  assert.equal(r.stdout, "4\n");
  assert.equal(r.status, 0);
});

test("without koffi, a bare tsvmm runs the seed demo on the emulator, even where /dev/kvm opens", () => {
  const r = node([CLI]);
  assert.equal(r.stderr, "");
  assert.equal(r.stdout, "4\n");
  assert.equal(r.status, 0);
});

test("without koffi, a long-mode guest runs on the emulator", () => {
  const r = node([CLI, "run", "--accel", "emu", "--mode", "long", buildFlat("mode_long.S", 0x100000)]);
  assert.equal(
    r.stdout,
    "long: efer.lme=1 efer.lma=1 cr4.pae=1 cs=0018 cs.l=1 rsp=0000000000008ff0 pde(ffe00000)=00000000ffe00083 r8=0123456789abcdef\n",
  );
  assert.equal(r.status, (0x13 << 1) | 1, r.stderr);
});

test("without koffi, --accel kvm fails in one line instead of crashing", () => {
  const r = node([CLI, "--accel", "kvm"]);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^tsvmm: --accel kvm: [^\n]*\n$/);
});
