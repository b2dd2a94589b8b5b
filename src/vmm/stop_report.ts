// Turns why a vCPU stopped into an exit status and words: a one-line summary, plus the vCPU's state
// (registers, mode, the instruction at CS:RIP) whenever the guest failed.
import { exitReasonName, internalErrorName, SystemEvent } from "../kvm/run.js";
import type { Vcpu } from "../kvm/vcpu.js";
import type { GuestMemory } from "../memory/guest_memory.js";
import { describeCpuState } from "./fault_report.js";
import type { StopReason } from "./vcpu_loop.js";

export interface StopDescription {
  status: number;
  summary: string;
  /** The vCPU state, for failures. */
  details?: string;
  failed: boolean;
}

/** Status after a guest fault, as a process exit code. */
export const GUEST_FAULT_STATUS = 1;

export function describeStop(reason: StopReason, vcpu: Vcpu, memory: GuestMemory): StopDescription {
  const ok = (summary: string, status = 0): StopDescription => ({ status, summary, failed: false });
  const fault = (summary: string): StopDescription => ({
    status: GUEST_FAULT_STATUS,
    summary,
    details: describeCpuState(vcpu, memory),
    failed: true,
  });
  switch (reason.kind) {
    case "halt":
      return ok("guest halted");
    case "stopped":
      return ok("guest stopped by the host");
    case "exit":
      return ok(`guest exited with code ${reason.code}`, ((reason.code << 1) | 1) & 0xff);
    case "reset":
      return ok("guest reset the machine");
    case "system-event":
      if (reason.type === SystemEvent.SHUTDOWN) return ok("guest powered off");
      if (reason.type === SystemEvent.RESET) return ok("guest reset");
      return fault(`guest crashed (KVM_EXIT_SYSTEM_EVENT type ${reason.type})`);
    case "shutdown":
      return fault("guest triple-faulted (KVM_EXIT_SHUTDOWN)");
    case "internal-error": {
      const data = reason.data.map((d) => `0x${d.toString(16)}`).join(" ");
      return fault(`KVM could not run the guest: ${internalErrorName(reason.suberror)}${data ? ` data ${data}` : ""}`);
    }
    case "fail-entry":
      return fault(`KVM_EXIT_FAIL_ENTRY: hardware entry failure reason 0x${reason.hardwareReason.toString(16)}`);
    case "debug":
      return ok(`debug exit at 0x${reason.pc.toString(16)}`);
    case "unhandled-exit":
      return fault(`unhandled exit ${exitReasonName(reason.reason)}`);
    case "device-error":
      return fault(`a device stopped the guest: ${reason.message}`);
  }
}
