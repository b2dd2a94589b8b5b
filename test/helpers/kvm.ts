// Guest tests run on every usable accelerator: tsvmm's emulator always, KVM when /dev/kvm opens. Tests that
// only KVM can run skip with a one-line reason where it is absent, in CI too (these machines have none).
import { closeSync, openSync } from "node:fs";
import type { TestContext } from "node:test";
import type { AccelName } from "../../src/accel/accelerator.js";

const KVM = "/dev/kvm";

function kvmMissing(): string | undefined {
  try {
    closeSync(openSync(KVM, "r+"));
    return undefined;
  } catch (e) {
    return `${KVM} is not usable (${(e as NodeJS.ErrnoException).code})`;
  }
}

export function kvmUsable(): boolean {
  return kvmMissing() === undefined;
}

/** The accelerators a guest test runs on here: the emulator, and KVM when it is usable. */
export function accelerators(): AccelName[] {
  return kvmUsable() ? ["emu", "kvm"] : ["emu"];
}

/** For a test of KVM itself (its addon, its CPUID): true when KVM is usable, else the test is skipped. */
export function needsKvm(t: TestContext): boolean {
  const missing = kvmMissing();
  if (!missing) return true;
  t.skip(`${missing}: a KVM-only test`);
  return false;
}
