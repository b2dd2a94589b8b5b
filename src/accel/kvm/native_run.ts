// KVM_RUN and KVM_IRQ_LINE through the optional Node-API addon (native/kvm_run.c), when it was built at
// install: each costs less per call than through koffi. TSVMM_NATIVE=0 turns it off; without it, both go
// through koffi like every other ioctl. Loaded on first use, never at import.
import { createRequire } from "node:module";

export interface NativeKvm {
  /** KVM_RUN: the ioctl's result, or -errno. */
  run(vcpuFd: number): number;
  /** KVM_IRQ_LINE: the ioctl's result, or -errno. */
  irqLine(vmFd: number, gsi: number, level: number): number;
}

function load(): NativeKvm | undefined {
  if (process.env.TSVMM_NATIVE === "0") return undefined;
  try {
    return createRequire(import.meta.url)("../../../../build/Release/kvm_run.node") as NativeKvm;
  } catch {
    return undefined;
  }
}

let loaded: { addon: NativeKvm | undefined } | undefined;

/** The addon, or undefined when it was not built or is turned off (then KVM_RUN goes through koffi). */
export function nativeKvm(): NativeKvm | undefined {
  loaded ??= { addon: load() };
  return loaded.addon;
}
