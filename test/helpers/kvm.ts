// Tests run real guests on real KVM. Without /dev/kvm they fail loudly in CI and skip elsewhere.
import { accessSync, constants } from "node:fs";
import type { TestContext } from "node:test";

const KVM = "/dev/kvm";

function kvmMissing(): string | undefined {
  try {
    accessSync(KVM, constants.R_OK | constants.W_OK);
    return undefined;
  } catch (e) {
    return `${KVM} is not usable (${(e as NodeJS.ErrnoException).code})`;
  }
}

/** Returns true when the test may use KVM; otherwise fails (CI) or skips (elsewhere) the test. */
export function needsKvm(t: TestContext): boolean {
  const missing = kvmMissing();
  if (!missing) return true;
  if (process.env.CI) throw new Error(`${missing}: CI must run the KVM tests`);
  t.skip(`${missing}; skipping a test that needs KVM`);
  return false;
}
