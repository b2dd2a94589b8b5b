// Whether SSE instructions may run (Intel SDM vol. 3, 13.1 and table 2-? "Effect of the control register
// bits"): #UD when CR0.EM is set or the OS has not set CR4.OSFXSR, #NM when CR0.TS is set (lazy FPU/SSE
// context switching). #UD takes priority over #NM.
import type { Cpu } from "../cpu.js";
import { CR0_EM, CR0_MP, CR0_TS, CR4_OSFXSR } from "../cpu.js";
import { fault, NM, ud } from "../fault.js";

export function checkSseAvailable(cpu: Cpu): void {
  if (cpu.cr0 & CR0_EM || !(cpu.cr4 & CR4_OSFXSR)) ud();
  if (cpu.cr0 & CR0_TS) fault(NM);
}

/**
 * Whether an x87 or MMX instruction may run (SDM vol. 3, table 2-2): CR0.EM or CR0.TS raise #NM (EM is how an
 * OS emulates the FPU in software; TS is lazy context switching). MMX instructions with CR0.EM set raise #UD
 * instead (`mmx` true).
 */
export function checkFpuAvailable(cpu: Cpu, mmx = false): void {
  if (cpu.cr0 & CR0_EM) {
    if (mmx) ud();
    fault(NM);
  }
  if (cpu.cr0 & CR0_TS) fault(NM);
}

/** WAIT/FWAIT: #NM only when both CR0.MP and CR0.TS are set. */
export function checkWaitAvailable(cpu: Cpu): void {
  if (cpu.cr0 & CR0_TS && cpu.cr0 & CR0_MP) fault(NM);
}
