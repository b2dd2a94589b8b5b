// KVM_RUN through the optional Node-API addon (native/kvm_run.c), when it was built at install: it costs
// less per exit than a koffi call. TSVMM_NATIVE=0 turns it off; without it, KVM_RUN goes through koffi.
import { createRequire } from "node:module";

type NativeRun = (fd: number) => number;

function load(): NativeRun | undefined {
  if (process.env.TSVMM_NATIVE === "0") return undefined;
  try {
    const addon = createRequire(import.meta.url)("../../../build/Release/kvm_run.node") as { run: NativeRun };
    return addon.run;
  } catch {
    return undefined;
  }
}

/** KVM_RUN returning its result or -errno, or undefined when the addon is not there. */
export const nativeKvmRun: NativeRun | undefined = load();
