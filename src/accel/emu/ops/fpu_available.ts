// Whether SSE instructions may run (Intel SDM vol. 3, 13.1 and table 2-? "Effect of the control register
// bits"): #UD when CR0.EM is set or the OS has not set CR4.OSFXSR, #NM when CR0.TS is set (lazy FPU/SSE
// context switching). #UD takes priority over #NM.
import type { Cpu } from "../cpu.js";
import { CR0_EM, CR0_TS, CR4_OSFXSR } from "../cpu.js";
import { fault, NM, ud } from "../fault.js";

export function checkSseAvailable(cpu: Cpu): void {
  if (cpu.cr0 & CR0_EM || !(cpu.cr4 & CR4_OSFXSR)) ud();
  if (cpu.cr0 & CR0_TS) fault(NM);
}
