// The vCPU run loop: enter the guest, turn each exit into a bus access or a reason to stop.
// A free function over a Vcpu and an IoBus, so it runs the same on the main thread or in a worker.
import type { Bus } from "../bus/io_bus.js";
import { ExitReason, KVM_EXIT_IO_OUT, type KvmRun } from "../kvm/run.js";
import type { Vcpu } from "../kvm/vcpu.js";
import { GuestMemoryError } from "../memory/guest_memory.js";

/** Why the loop returned. */
export type StopReason =
  | { kind: "halt" }
  | { kind: "stopped" } // the host asked the vCPU to stop
  | { kind: "exit"; code: number } // a device (e.g. a debug-exit port) ended the VM with a status
  | { kind: "reset" } // the guest reset the machine (i8042, port 0x92, 0xcf9)
  | { kind: "shutdown" } // triple fault
  | { kind: "internal-error"; suberror: number; data: bigint[] }
  | { kind: "fail-entry"; hardwareReason: bigint }
  | { kind: "system-event"; type: number }
  | { kind: "debug"; pc: bigint; exception: number }
  | { kind: "unhandled-exit"; reason: number }
  | { kind: "device-error"; message: string };

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
  /** Called for every exit once it has been handled (tracing). */
  onExit?: (run: KvmRun) => void;
  /** A device may end the run (debug-exit, reset); set by the device wiring, read after each exit. */
  pendingStop?: { reason: StopReason | undefined };
  /** Whether a DEBUG exit ends the loop (single-step callers) or is reported to `onDebug`. */
  onDebug?: (pc: bigint) => "continue" | "stop";
  /** Called when a signal kicked the vCPU out of KVM_RUN: the host wants something done between runs. */
  onKick?: () => StopReason | undefined;
  /** Counts completed KVM_RUN calls. */
  stats?: { exits: number };
}

export function runVcpu(vcpu: Vcpu, bus: Bus, opts: LoopOptions): StopReason {
  const run = vcpu.run;
  const { stop, onExit, pendingStop } = opts;
  const stats = opts.stats ?? { exits: 0 };
  for (;;) {
    if (stop.requested) return { kind: "stopped" };
    if (!vcpu.runOnce()) {
      // Kicked by a signal (immediate_exit may have been set to get us here: clear it before running
      // again), or an AP woken by INIT/SIPI.
      run.immediateExit = false;
      const reason = opts.onKick?.();
      if (reason) return reason;
      continue;
    }
    stats.exits++;
    let stopWith: StopReason | undefined;
    try {
      stopWith = handleExit(run, bus, opts);
    } catch (e) {
      // A device met a guest request it cannot honour (e.g. a DMA address outside RAM): stop the VM, keep the VMM.
      if (e instanceof GuestMemoryError) stopWith = { kind: "device-error", message: e.message };
      else throw e;
    }
    onExit?.(run);
    if (stopWith) return stopWith;
    if (pendingStop?.reason) return pendingStop.reason;
  }
}

/** Handles one exit: dispatches I/O to the bus, or says why the vCPU must stop. */
function handleExit(run: KvmRun, bus: Bus, opts: LoopOptions): StopReason | undefined {
  switch (run.exitReason) {
    case ExitReason.IO: {
      const size = run.ioSize;
      const port = run.ioPort;
      const write = run.ioDirection === KVM_EXIT_IO_OUT;
      let at = run.ioDataOffset;
      // A string instruction (rep ins/outs) reports `count` items back to back.
      for (let i = run.ioCount; i > 0; i--, at += size) {
        const data = run.ioData(at, size);
        if (write) bus.write("pio", port, data);
        else bus.read("pio", port, data);
      }
      return undefined;
    }
    case ExitReason.MMIO: {
      const addr = run.mmioPhysAddr;
      const data = run.mmioData(run.mmioLen);
      if (run.mmioIsWrite) bus.write("mmio", addr, data);
      else bus.read("mmio", addr, data);
      return undefined;
    }
    case ExitReason.HLT:
      return { kind: "halt" };
    case ExitReason.SHUTDOWN:
      return { kind: "shutdown" };
    case ExitReason.INTERNAL_ERROR:
      return { kind: "internal-error", suberror: run.internalSuberror, data: run.internalData };
    case ExitReason.FAIL_ENTRY:
      return { kind: "fail-entry", hardwareReason: run.failEntryReason };
    case ExitReason.SYSTEM_EVENT:
      return { kind: "system-event", type: run.systemEventType };
    case ExitReason.DEBUG: {
      const pc = run.debugPc;
      if (!opts.onDebug || opts.onDebug(pc) === "stop") return { kind: "debug", pc, exception: run.debugException };
      return undefined;
    }
    case ExitReason.INTR:
      return undefined; // a signal arrived with immediate_exit set; the stop flag says what to do
    default:
      return { kind: "unhandled-exit", reason: run.exitReason };
  }
}
