// The references the benchmarks measure tsvmm against: C programs under bench/, and QEMU.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chooseAccelerator } from "../src/accel/open.js";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const CACHE = join(ROOT, ".cache", "bench");
export const QEMU = "qemu-system-x86_64";

/** Compiles bench/NAME.c with gcc -O2 into the cache; returns the executable's path. */
export function buildReference(name: string): string {
  mkdirSync(CACHE, { recursive: true });
  const exe = join(CACHE, name);
  execFileSync("gcc", ["-O2", "-o", exe, join(ROOT, "bench", `${name}.c`)]);
  return exe;
}

/** Installs Debian's qemu-system-x86 when QEMU is missing (`who` names the benchmark in the message). */
export function ensureQemu(who: string): void {
  if (!spawnSync(QEMU, ["--version"], { stdio: "ignore" }).error) return;
  process.stderr.write(`${who}: ${QEMU} not found, installing qemu-system-x86 with apt-get\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
  execFileSync("apt-get", ["install", "-y", "-qq", "qemu-system-x86"], { stdio: ["ignore", "ignore", "inherit"], env });
}

/** Whether KVM is usable here: what tsvmm's default choice of accelerator finds (/dev/kvm opens, koffi loads). */
export function kvmUsable(): boolean {
  return chooseAccelerator(undefined) === "kvm";
}

/**
 * For a benchmark (or a row of one) whose reference needs KVM: prints "NAME: skipped (needs /dev/kvm)" and
 * returns true when KVM is not usable here.
 */
export function skippedWithoutKvm(name: string): boolean {
  if (kvmUsable()) return false;
  console.log(`${name}: skipped (needs /dev/kvm)`);
  return true;
}
