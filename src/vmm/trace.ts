// One line per guest access for --trace.
import { hexBytes } from "../arch/x86/disasm.js";
import type { Vcpu } from "../kvm/vcpu.js";

export function formatAccess(
  vcpu: Vcpu,
  space: "pio" | "mmio",
  addr: number,
  data: Uint8Array,
  write: boolean,
): string {
  const kind = space === "pio" ? (write ? "out" : "in") : write ? "mmio-write" : "mmio-read";
  const rip = vcpu.getRegs().rip.toString(16);
  return `trace: ${kind} 0x${addr.toString(16)} size ${data.length} data [${hexBytes(data)}] rip 0x${rip}`;
}
