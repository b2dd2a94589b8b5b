// KVM_RUN until the VMM must decide: port and MMIO exits are served through the bus here, every other exit
// becomes a neutral VcpuExit (the KVM exit name stays in a failure's message).

import type { Bus } from "../../bus/io_bus.js";
import type { RunHooks, VcpuExit } from "../accelerator.js";
import { currentThread } from "./kick_signal.js";
import { ExitReason, exitReasonName, internalErrorName, KVM_EXIT_IO_OUT, type KvmRun, SystemEvent } from "./run.js";
import type { Vcpu } from "./vcpu.js";

const INTERRUPTED: VcpuExit = { kind: "interrupted" };
const DEVICE_STOP: VcpuExit = { kind: "device-stop" };
const HALT: VcpuExit = { kind: "halt" };
const SHUTDOWN: VcpuExit = { kind: "shutdown" };

export function runKvm(vcpu: Vcpu, bus: Bus, hooks: RunHooks): VcpuExit {
  const run = vcpu.kvmRun;
  const { kick, stats } = hooks;
  // Published for interrupt(): from now on a kick reaches this thread inside KVM_RUN.
  Atomics.store(vcpu.thread, 0, currentThread());
  try {
    for (;;) {
      if (Atomics.load(kick, 0) !== 0) {
        Atomics.store(kick, 0, 0);
        run.immediateExit = false;
        return INTERRUPTED;
      }
      if (!vcpu.runOnce()) {
        // Kicked by a signal (immediate_exit may have been set to get us here: clear it before running
        // again), or an AP woken by INIT/SIPI.
        run.immediateExit = false;
        Atomics.store(kick, 0, 0);
        return INTERRUPTED;
      }
      stats.exits++;
      if (run.exitReason === ExitReason.INTERNAL_ERROR && performUnemulated(vcpu, run)) continue;
      const exit = handleExit(run, bus, hooks);
      if (exit) return exit;
    }
  } finally {
    Atomics.store(vcpu.thread, 0, 0);
  }
}

/** Serves one exit's accesses, or says why the run ends. */
function handleExit(run: KvmRun, bus: Bus, hooks: RunHooks): VcpuExit | undefined {
  switch (run.exitReason) {
    case ExitReason.IO: {
      const size = run.ioSize;
      const port = run.ioPort;
      const write = run.ioDirection === KVM_EXIT_IO_OUT;
      let at = run.ioDataOffset;
      let stop = false;
      // A string instruction (rep ins/outs) reports `count` items back to back.
      for (let i = run.ioCount; i > 0; i--, at += size) {
        const data = run.ioData(at, size);
        if (write) bus.write("pio", port, data);
        else bus.read("pio", port, data);
        hooks.onAccess?.({ space: "pio", addr: port, write, data: data.slice() });
        if (hooks.afterAccess()) stop = true;
      }
      return stop ? DEVICE_STOP : undefined;
    }
    case ExitReason.MMIO: {
      const addr = run.mmioPhysAddr;
      const data = run.mmioData(run.mmioLen);
      const write = run.mmioIsWrite;
      if (write) bus.write("mmio", addr, data);
      else bus.read("mmio", addr, data);
      hooks.onAccess?.({ space: "mmio", addr, write, data: data.slice() });
      return hooks.afterAccess() ? DEVICE_STOP : undefined;
    }
    case ExitReason.HLT:
      return HALT;
    case ExitReason.SHUTDOWN:
      return SHUTDOWN;
    case ExitReason.DEBUG:
      return { kind: "debug", pc: run.debugPc };
    case ExitReason.INTR:
      return INTERRUPTED; // a signal arrived with immediate_exit set
    case ExitReason.SYSTEM_EVENT:
      return systemEvent(run.systemEventType);
    case ExitReason.INTERNAL_ERROR: {
      const data = run.internalData.map((d) => `0x${d.toString(16)}`).join(" ");
      const message = `KVM could not run the guest: ${internalErrorName(run.internalSuberror)}${data ? ` data ${data}` : ""}`;
      return { kind: "failure", message };
    }
    case ExitReason.FAIL_ENTRY:
      return {
        kind: "failure",
        message: `KVM_EXIT_FAIL_ENTRY: hardware entry failure reason 0x${run.failEntryReason.toString(16)}`,
      };
    default:
      return { kind: "failure", message: `unhandled exit ${exitReasonName(run.exitReason)}` };
  }
}

const KVM_INTERNAL_ERROR_EMULATION = 1;
/** data[0] bit 0: data[1..] hold the instruction's length (a byte), then its bytes. */
const EMULATION_FLAG_INSTRUCTION_BYTES = 1n;
const INT3 = 0xcc;
const FWAIT = 0x9b;
const BP_VECTOR = 3;

/**
 * A KVM whose instruction emulator runs the guest's ring-0 code (nested KVM of the PVM kind) cannot emulate a
 * few instructions Linux executes at boot; tsvmm performs them instead. INT3 (int3_selftest, text patching):
 * RIP past it, #BP delivered by KVM as an injected exception, as the processor would raise it. FWAIT: RIP past
 * it (it waits for nothing here; an unmasked x87 exception pending would have raised #MF, which the kernel
 * does not leave pending at boot).
 */
function performUnemulated(vcpu: Vcpu, run: KvmRun): boolean {
  if (run.internalSuberror !== KVM_INTERNAL_ERROR_EMULATION) return false;
  const [flags, bytes] = run.internalData;
  if (flags === undefined || bytes === undefined || !(flags & EMULATION_FLAG_INSTRUCTION_BYTES)) return false;
  const opcode = Number((bytes >> 8n) & 0xffn);
  if (opcode !== INT3 && opcode !== FWAIT) return false;
  const regs = vcpu.getRegs();
  regs.rip += 1n;
  vcpu.setRegs(regs);
  if (opcode === INT3) vcpu.injectException(BP_VECTOR);
  return true;
}

function systemEvent(type: number): VcpuExit {
  const detail = `KVM_EXIT_SYSTEM_EVENT type ${type}`;
  if (type === SystemEvent.SHUTDOWN) return { kind: "system-event", event: "poweroff", detail };
  if (type === SystemEvent.RESET) return { kind: "system-event", event: "reset", detail };
  return { kind: "system-event", event: "crash", detail };
}
