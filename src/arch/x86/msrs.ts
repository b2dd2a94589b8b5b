// Model-specific registers as firmware leaves them before jumping to a kernel (Intel SDM vol. 4):
// system-call MSRs cleared, the TSC at zero, fast strings on and MTRRs enabled with write-back memory.
import type { MsrEntry } from "./cpu_state.js";

export const IA32_TSC = 0x10;
export const IA32_SYSENTER_CS = 0x174;
export const IA32_SYSENTER_ESP = 0x175;
export const IA32_SYSENTER_EIP = 0x176;
export const IA32_MISC_ENABLE = 0x1a0;
export const IA32_MTRR_DEF_TYPE = 0x2ff;
export const IA32_STAR = 0xc000_0081;
export const IA32_LSTAR = 0xc000_0082;
export const IA32_CSTAR = 0xc000_0083;
/** SYSCALL_MASK (IA32_FMASK): RFLAGS bits SYSCALL clears. */
export const IA32_FMASK = 0xc000_0084;
export const IA32_KERNEL_GS_BASE = 0xc000_0102;

/** IA32_MISC_ENABLE[0]: fast-string operations for REP MOVS/STOS. */
export const MISC_ENABLE_FAST_STRING = 1n << 0n;
/** IA32_MTRR_DEF_TYPE[11]: MTRRs enabled. */
export const MTRR_ENABLE = 1n << 11n;
/** Memory type 6: write-back, for all memory no variable or fixed MTRR covers. */
export const MTRR_TYPE_WRITE_BACK = 6n;

/** The MSRs to set on every vCPU before it runs. */
export function bootMsrs(): MsrEntry[] {
  return [
    { index: IA32_SYSENTER_CS, data: 0n },
    { index: IA32_SYSENTER_ESP, data: 0n },
    { index: IA32_SYSENTER_EIP, data: 0n },
    { index: IA32_STAR, data: 0n },
    { index: IA32_LSTAR, data: 0n },
    { index: IA32_CSTAR, data: 0n },
    { index: IA32_FMASK, data: 0n },
    { index: IA32_KERNEL_GS_BASE, data: 0n },
    { index: IA32_TSC, data: 0n },
    { index: IA32_MISC_ENABLE, data: MISC_ENABLE_FAST_STRING },
    { index: IA32_MTRR_DEF_TYPE, data: MTRR_ENABLE | MTRR_TYPE_WRITE_BACK },
  ];
}
