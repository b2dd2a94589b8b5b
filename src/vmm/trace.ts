// --trace: one line per port or MMIO access and per reason the vCPU returned, with the instruction at RIP.
import type { AccelVcpu, Access, VcpuExit } from "../accel/accelerator.js";
import { hexBytes } from "../arch/x86/disasm.js";
import type { GuestMemory } from "../memory/guest_memory.js";
import { describeInstruction } from "./fault_report.js";

/** "io out port 0x3f8 size 1 data [34]", "mmio read 0x20020 size 2 data [ef be]". */
function accessDetails(a: Access): string {
  const size = `size ${a.data.length} data [${hexBytes(a.data)}]`;
  if (a.space === "pio") return `io ${a.write ? "out" : "in"} port 0x${a.addr.toString(16)} ${size}`;
  return `mmio ${a.write ? "write" : "read"} 0x${a.addr.toString(16)} ${size}`;
}

function exitDetails(exit: VcpuExit): string {
  switch (exit.kind) {
    case "debug":
      return `debug pc 0x${exit.pc.toString(16)}`;
    case "system-event":
      return `system-event ${exit.event} (${exit.detail})`;
    case "failure":
      return `failure: ${exit.message}`;
    default:
      return exit.kind;
  }
}

/** Where the vCPU is: "0000:1005  gpa 0x1005: ee  out %al,(%dx)". */
function location(vcpu: AccelVcpu, memory: GuestMemory): string {
  const regs = vcpu.getRegs();
  const sregs = vcpu.getSregs();
  const cs = sregs.cs.selector.toString(16).padStart(4, "0");
  return `${cs}:${regs.rip.toString(16)}  ${describeInstruction(vcpu, memory, regs, sregs)}`;
}

export function formatAccess(vcpu: AccelVcpu, memory: GuestMemory, access: Access): string {
  return `trace: ${accessDetails(access)} | ${location(vcpu, memory)}`;
}

export function formatExit(vcpu: AccelVcpu, memory: GuestMemory, exit: VcpuExit): string {
  return `trace: ${exitDetails(exit)} | ${location(vcpu, memory)}`;
}
