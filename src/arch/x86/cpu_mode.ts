// The processor's operating mode, as the control registers and CS describe it (Intel SDM vol. 3, 2.2).
import type { Sregs } from "./cpu_state.js";

export const CR0_PE = 1n;
export const CR0_ET = 1n << 4n;
export const CR0_PG = 1n << 31n;
export const CR4_PSE = 1n << 4n;
export const CR4_PAE = 1n << 5n;
export const EFER_LME = 1n << 8n;
/** RFLAGS.IF: maskable interrupts enabled. */
export const RFLAGS_IF = 1n << 9n;
export const EFER_LMA = 1n << 10n;

export type CpuMode = "real" | "protected" | "paged32" | "pae" | "long" | "compat";

export function cpuMode(s: Sregs): CpuMode {
  if (!(s.cr0 & CR0_PE)) return "real";
  if (s.efer & EFER_LMA) return s.cs.l ? "long" : "compat";
  if (!(s.cr0 & CR0_PG)) return "protected";
  return s.cr4 & CR4_PAE ? "pae" : "paged32";
}

/** The default operand size of the code being executed. */
export function codeBitness(s: Sregs): 16 | 32 | 64 {
  const mode = cpuMode(s);
  if (mode === "long") return 64;
  if (mode === "real") return 16;
  return s.cs.db ? 32 : 16;
}

export function pagingEnabled(s: Sregs): boolean {
  return (s.cr0 & CR0_PG) !== 0n;
}
