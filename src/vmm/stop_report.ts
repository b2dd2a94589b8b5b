// Turns why a vCPU stopped into an exit status and words: a one-line summary, plus the vCPU's state
// (registers, mode, the instruction at CS:RIP) whenever the guest failed.
import type { AccelVcpu } from "../accel/accelerator.js";
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

export function describeStop(reason: StopReason, vcpu: AccelVcpu, memory: GuestMemory): StopDescription {
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
      // A triple fault that resets (reboot=t) keeps the vCPU state in the report: it may be no reboot at all.
      return reason.tripleFault
        ? { ...ok("guest reset the machine by a triple fault"), details: describeCpuState(vcpu, memory) }
        : ok("guest reset the machine");
    case "system-event":
      if (reason.event === "poweroff") return ok("guest powered off");
      if (reason.event === "reset") return ok("guest reset");
      return fault(`guest crashed (${reason.detail})`);
    case "shutdown":
      return fault("guest triple-faulted (shutdown)");
    case "failure":
      return fault(reason.message);
    case "debug":
      return ok(`debug exit at 0x${reason.pc.toString(16)}`);
    case "device-error":
      return fault(`a device stopped the guest: ${reason.message}`);
  }
}
