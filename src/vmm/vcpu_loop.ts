// The vCPU run loop: run the vCPU (which serves port and MMIO accesses through the bus itself) and turn each
// reason it returns for into a decision: go on, or stop and say why. A free function over a RunnableVcpu and a
// Bus, so it runs the same on the main thread or in a worker, on any accelerator.
import type { Access, RunHooks, RunnableVcpu, VcpuExit } from "../accel/accelerator.js";
import type { Bus } from "../bus/io_bus.js";
import { GuestMemoryError } from "../memory/guest_memory.js";

/** Why the loop returned. */
export type StopReason =
  | { kind: "halt" }
  | { kind: "stopped" } // the host asked the vCPU to stop
  | { kind: "exit"; code: number } // a device (e.g. a debug-exit port) ended the VM with a status
  | { kind: "reset"; tripleFault?: boolean } // the guest reset the machine (i8042, port 0x92, 0xcf9; a Linux triple fault)
  | { kind: "shutdown" } // triple fault
  | { kind: "system-event"; event: "poweroff" | "reset" | "crash"; detail: string } // the accelerator's
  | { kind: "debug"; pc: bigint } // a single step, when the caller stopped there
  | { kind: "failure"; message: string } // the accelerator could not run the guest
  | { kind: "device-error"; message: string }; // a device met a guest request it cannot honour

/** Shared between the loop and whoever may stop it, possibly another thread (an Int32Array over a SAB). */
export class StopFlag {
  constructor(readonly cell: Int32Array = new Int32Array(new SharedArrayBuffer(4))) {}
  get requested(): boolean {
    return Atomics.load(this.cell, 0) !== 0;
  }
  request(): void {
    Atomics.store(this.cell, 0, 1);
  }
  clear(): void {
    Atomics.store(this.cell, 0, 0);
  }
}

export interface LoopOptions {
  stop: StopFlag;
  /** The cell another thread sets to get the vCPU out of run() (RunHooks.kick); a private one by default. */
  kick?: Int32Array;
  /** Every port or MMIO access as it completes (tracing). */
  onAccess?: (access: Access) => void;
  /** Every return from run() but "interrupted" (tracing). */
  onExit?: (exit: VcpuExit) => void;
  /** A device may end the run (debug-exit, reset); set by the device wiring, read after each access. */
  pendingStop?: { reason: StopReason | undefined };
  /** Whether a single-step trap ends the loop (the default) or the vCPU goes on. */
  onDebug?: (pc: bigint) => "continue" | "stop";
  /** The vCPU was kicked: the host wants something done between runs (input, a probe, a pause). */
  onKick?: () => StopReason | undefined;
  /** Counts exits (see RunHooks.stats). */
  stats?: { exits: number };
}

export function runVcpu(vcpu: RunnableVcpu, bus: Bus, opts: LoopOptions): StopReason {
  const { stop, pendingStop } = opts;
  const hooks: RunHooks = {
    kick: opts.kick ?? new Int32Array(new SharedArrayBuffer(4)),
    stats: opts.stats ?? { exits: 0 },
    // After each access, as before each run: a device's stop, or the host's (a device on this thread may ask).
    afterAccess: () => pendingStop?.reason !== undefined || stop.requested,
    ...(opts.onAccess && { onAccess: opts.onAccess }),
  };
  for (;;) {
    if (stop.requested) return { kind: "stopped" };
    let exit: VcpuExit;
    try {
      exit = vcpu.run(bus, hooks);
    } catch (e) {
      // A device met a guest request it cannot honour (e.g. a DMA address outside RAM): stop the VM, keep the VMM.
      if (e instanceof GuestMemoryError) return { kind: "device-error", message: e.message };
      throw e;
    }
    if (exit.kind !== "interrupted") opts.onExit?.(exit);
    const reason = decide(exit, opts);
    if (reason) return reason;
  }
}

/** What an exit means for the loop: a reason to stop, or undefined to run on. */
function decide(exit: VcpuExit, opts: LoopOptions): StopReason | undefined {
  switch (exit.kind) {
    case "interrupted":
      return opts.onKick?.();
    case "device-stop":
      return opts.pendingStop?.reason ?? { kind: "stopped" };
    case "debug":
      return !opts.onDebug || opts.onDebug(exit.pc) === "stop" ? { kind: "debug", pc: exit.pc } : undefined;
    case "halt":
    case "shutdown":
      return { kind: exit.kind };
    case "system-event":
      return { kind: "system-event", event: exit.event, detail: exit.detail };
    case "failure":
      return { kind: "failure", message: exit.message };
  }
}
