// --trace: one line per exit, with the exit's details and the instruction at RIP.
import { hexBytes } from "../arch/x86/disasm.js";
import { ExitReason, exitReasonName, KVM_EXIT_IO_OUT, type KvmRun } from "../kvm/run.js";
import type { Vcpu } from "../kvm/vcpu.js";
import type { GuestMemory } from "../memory/guest_memory.js";
import { describeInstruction } from "./fault_report.js";

function exitDetails(run: KvmRun): string {
  switch (run.exitReason) {
    case ExitReason.IO: {
      const size = run.ioSize;
      const count = run.ioCount;
      const at = run.ioDataOffset;
      const data = run.bytes.subarray(at, at + size * count);
      const dir = run.ioDirection === KVM_EXIT_IO_OUT ? "out" : "in";
      return `${dir} port 0x${run.ioPort.toString(16)} size ${size}${count > 1 ? ` count ${count}` : ""} data [${hexBytes(data)}]`;
    }
    case ExitReason.MMIO: {
      const len = run.mmioLen;
      const dir = run.mmioIsWrite ? "write" : "read";
      return `${dir} 0x${run.mmioPhysAddr.toString(16)} size ${len} data [${hexBytes(run.mmioData(len))}]`;
    }
    default:
      return "";
  }
}

export function formatExit(vcpu: Vcpu, memory: GuestMemory, run: KvmRun): string {
  const regs = vcpu.getRegs();
  const sregs = vcpu.getSregs();
  const details = exitDetails(run);
  const cs = sregs.cs.selector.toString(16).padStart(4, "0");
  const at = `${cs}:${regs.rip.toString(16)}  ${describeInstruction(vcpu, memory, regs, sregs)}`;
  return `trace: ${exitReasonName(run.exitReason)}${details ? ` ${details}` : ""} | ${at}`;
}
