// Model-specific registers of the emulated CPU (Intel SDM vol. 4): those a kernel touches. Reading or writing
// any other raises #GP, as on hardware.

import { isApicMsr, readApicMsr, writeApicMsr } from "./apic_msrs.js";
import { type Cpu, CR0_PG, EFER_LMA, EFER_LME, FS, GS } from "./cpu.js";
import { gp } from "./fault.js";

export const MSR_TSC = 0x10;
export const MSR_APIC_BASE = 0x1b;
export const MSR_MTRRCAP = 0xfe;
export const MSR_SYSENTER_CS = 0x174;
export const MSR_SYSENTER_ESP = 0x175;
export const MSR_SYSENTER_EIP = 0x176;
export const MSR_MISC_ENABLE = 0x1a0;
export const MSR_PAT = 0x277;
export const MSR_MTRR_DEF_TYPE = 0x2ff;
export const MSR_EFER = 0xc0000080;
export const MSR_STAR = 0xc0000081;
export const MSR_LSTAR = 0xc0000082;
export const MSR_CSTAR = 0xc0000083;
export const MSR_FMASK = 0xc0000084;
export const MSR_FS_BASE = 0xc0000100;
export const MSR_GS_BASE = 0xc0000101;
export const MSR_KERNEL_GS_BASE = 0xc0000102;
export const MSR_TSC_AUX = 0xc0000103;

/** Variable-range MTRR pairs (base, mask) from 0x200, and the fixed-range MTRRs. */
const MTRR_VARIABLE_FIRST = 0x200;
const MTRR_VARIABLE_COUNT = 8;
const MTRR_FIXED = [0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f];
/** MTRRcap: 8 variable ranges, fixed ranges, write-combining. */
const MTRRCAP_VALUE = 0x508n;
const PAT_DEFAULT = 0x0007040600070406n;
/** EFER bits software may set: SCE, LME, NXE (LMA is the processor's). */
const EFER_WRITABLE = 0x1 | 0x100 | 0x800;

const NS_PER_SECOND = 1_000_000_000n;
/** The TSC counts nanoseconds of host time: 1 GHz. */
export const TSC_HZ = NS_PER_SECOND;

/** The machine clock's nanoseconds (the platform's clock with an irqchip, else host time). */
function clockNs(cpu: Cpu): bigint {
  return cpu.platform ? BigInt(Math.round(cpu.platform.nowNs())) : process.hrtime.bigint();
}

export function readTsc(cpu: Cpu): bigint {
  return BigInt.asUintN(64, clockNs(cpu) + cpu.tscOffset);
}

const big = (n: number) => BigInt.asUintN(64, BigInt(Math.trunc(n)));
const num = (b: bigint) => Number(BigInt.asIntN(64, b));

function isMtrr(index: number): boolean {
  return (
    (index >= MTRR_VARIABLE_FIRST && index < MTRR_VARIABLE_FIRST + MTRR_VARIABLE_COUNT * 2) ||
    MTRR_FIXED.includes(index)
  );
}

/** RDMSR: the value, or #GP for an MSR the emulator does not have. */
export function readMsr(cpu: Cpu, index: number): bigint {
  const apic = cpu.platform?.apic;
  if (apic && isApicMsr(index)) return readApicMsr(apic, index);
  switch (index) {
    case MSR_TSC:
      return readTsc(cpu);
    case MSR_APIC_BASE:
      return big(cpu.apicBase);
    case MSR_MTRRCAP:
      return MTRRCAP_VALUE;
    case MSR_SYSENTER_CS:
      return big(cpu.sysenterCs);
    case MSR_SYSENTER_ESP:
      return big(cpu.sysenterEsp);
    case MSR_SYSENTER_EIP:
      return big(cpu.sysenterEip);
    case MSR_EFER:
      return big(cpu.efer);
    case MSR_STAR:
      return cpu.star;
    case MSR_LSTAR:
      return big(cpu.lstar);
    case MSR_CSTAR:
      return big(cpu.cstar);
    case MSR_FMASK:
      return big(cpu.sfmask);
    case MSR_FS_BASE:
      return big(cpu.segBase[FS]!);
    case MSR_GS_BASE:
      return big(cpu.segBase[GS]!);
    case MSR_KERNEL_GS_BASE:
      return big(cpu.kernelGsBase);
    case MSR_PAT:
      return cpu.msrs.get(index) ?? PAT_DEFAULT;
    case MSR_MISC_ENABLE:
    case MSR_MTRR_DEF_TYPE:
    case MSR_TSC_AUX:
      return cpu.msrs.get(index) ?? 0n;
    default:
      if (isMtrr(index)) return cpu.msrs.get(index) ?? 0n;
      return gp();
  }
}

function canonical(v: bigint): number {
  const n = num(v);
  if (n < -(2 ** 47) || n >= 2 ** 47) gp();
  return n;
}

/** WRMSR: stores the value, or #GP for an unknown MSR or a value it may not hold. */
export function writeMsr(cpu: Cpu, index: number, value: bigint): void {
  value = BigInt.asUintN(64, value);
  const apic = cpu.platform?.apic;
  if (apic && isApicMsr(index)) {
    writeApicMsr(apic, index, value);
    return;
  }
  switch (index) {
    case MSR_TSC:
      cpu.tscOffset = value - clockNs(cpu);
      // The APIC's TSC-deadline timer reads the same TSC.
      if (apic) apic.timer.tscOffset = cpu.tscOffset;
      return;
    case MSR_APIC_BASE:
      cpu.apicBase = num(value);
      return;
    case MSR_SYSENTER_CS:
      cpu.sysenterCs = num(value & 0xffffn);
      return;
    case MSR_SYSENTER_ESP:
      cpu.sysenterEsp = canonical(value);
      return;
    case MSR_SYSENTER_EIP:
      cpu.sysenterEip = canonical(value);
      return;
    case MSR_EFER: {
      const v = num(value);
      if (v & ~(EFER_WRITABLE | EFER_LMA)) gp();
      // LME may not change while paging is on.
      if (cpu.cr0 & CR0_PG && (v & EFER_LME) !== (cpu.efer & EFER_LME)) gp();
      cpu.efer = (v & EFER_WRITABLE) | (cpu.efer & EFER_LMA);
      cpu.mem.tlb.flushAll();
      return;
    }
    case MSR_STAR:
      cpu.star = value;
      return;
    case MSR_LSTAR:
      cpu.lstar = canonical(value);
      return;
    case MSR_CSTAR:
      cpu.cstar = canonical(value);
      return;
    case MSR_FMASK:
      cpu.sfmask = num(value & 0xffffffffn);
      return;
    case MSR_FS_BASE:
      cpu.segBase[FS] = canonical(value);
      return;
    case MSR_GS_BASE:
      cpu.segBase[GS] = canonical(value);
      return;
    case MSR_KERNEL_GS_BASE:
      cpu.kernelGsBase = canonical(value);
      return;
    case MSR_PAT:
      // Each of the eight entries holds a memory type: 0, 1, 4, 5, 6 or 7; writing another one is a #GP
      // (SDM vol. 3, "Page Attribute Table").
      for (let shift = 0n; shift < 64n; shift += 8n) {
        const type = (value >> shift) & 0xffn;
        if (type === 2n || type === 3n || type > 7n) gp();
      }
      cpu.msrs.set(index, value);
      return;
    case MSR_TSC_AUX:
      if (value >> 32n) gp(); // bits 63:32 are reserved
      cpu.msrs.set(index, value);
      return;
    case MSR_MISC_ENABLE:
    case MSR_MTRR_DEF_TYPE:
      cpu.msrs.set(index, value);
      return;
    default:
      if (isMtrr(index)) {
        cpu.msrs.set(index, value);
        return;
      }
      gp();
  }
}
