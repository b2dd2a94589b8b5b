// CPUID of exactly what the emulator implements (Intel SDM vol. 2, CPUID): the "max" model. Feature bits
// appear only for what runs; the VMM's CPU model then sets APIC IDs and topology and applies +feature/-feature.
import { CPUID_FLAG_SIGNIFICANT_INDEX, type CpuidEntry } from "../../arch/x86/cpu_state.js";

const ascii = (s: string, at: number) =>
  s.charCodeAt(at) | (s.charCodeAt(at + 1) << 8) | (s.charCodeAt(at + 2) << 16) | (s.charCodeAt(at + 3) << 24);
const VENDOR = "TsvmmEmuCPU!";
/** The hypervisor leaf's signature. */
const HYPERVISOR = "TsvmmTsvmmTs";
const BRAND = "tsvmm x86-64 emulator".padEnd(48, "\0");

// Leaf 1 EDX.
/** The x87 FPU, MMX and FXSAVE/FXRSTOR (ops/x87.ts, ops/mmx.ts). */
const FPU = 1 << 0;
const MMX = 1 << 23;
const FXSR = 1 << 24;
const PSE = 1 << 3;
const TSC = 1 << 4;
const MSR = 1 << 5;
const PAE = 1 << 6;
const CX8 = 1 << 8;
const SEP = 1 << 11;
const MTRR = 1 << 12;
const PGE = 1 << 13;
const CMOV = 1 << 15;
const PAT = 1 << 16;
const CLFSH = 1 << 19;
/** A local APIC (there is one with an irqchip; CPUID hides it otherwise). */
const APIC = 1 << 9;
// Leaf 1 ECX.
const CX16 = 1 << 13;
const X2APIC = 1 << 21;
const TSC_DEADLINE = 1 << 24;
const HYPERVISOR_BIT = 1 << 31;
// SSE and the later integer extensions (ops/sse_*.ts, ops/ext_int.ts). SSE and SSE2 also cover instructions on
// MMX registers (the x87/MMX family's ops/mmx.ts).
const SSE = 1 << 25;
const SSE2 = 1 << 26;
const SSE3 = 1 << 0;
const SSSE3 = 1 << 9;
const SSE41 = 1 << 19;
const SSE42 = 1 << 20;
const MOVBE = 1 << 22;
const POPCNT = 1 << 23;
const RDRAND = 1 << 30;
// Leaf 7 subleaf 0.
const FSGSBASE = 1 << 0;
const RDSEED = 1 << 18;
const RDPID = 1 << 22;
// Leaf 0x80000001 ECX: LZCNT ("ABM").
const LZCNT = 1 << 5;
// Leaf 0x80000001.
const LAHF_LM = 1 << 0;
const SYSCALL = 1 << 11;
const NX = 1 << 20;
/** 1 GiB pages (PS in a PDPTE), which the page walk implements. */
const PDPE1GB = 1 << 26;
const RDTSCP = 1 << 27;
const LM = 1 << 29;

/** Family 6, model 0x0f, stepping 1: an ordinary x86-64 signature. */
const SIGNATURE = 0x000006f1;
/** CLFLUSH line size 8 x 8 bytes, in leaf 1 EBX bits 8-15. */
const CLFLUSH_LINE = 8 << 8;

function leaf(fn: number, eax: number, ebx: number, ecx: number, edx: number, index = 0, flags = 0): CpuidEntry {
  return { function: fn, index, flags, eax: eax >>> 0, ebx: ebx >>> 0, ecx: ecx >>> 0, edx: edx >>> 0 };
}

export function emulatorCpuid(): CpuidEntry[] {
  const brand = (k: number) =>
    leaf(
      0x80000002 + k,
      ascii(BRAND, k * 16),
      ascii(BRAND, k * 16 + 4),
      ascii(BRAND, k * 16 + 8),
      ascii(BRAND, k * 16 + 12),
    );
  return [
    leaf(0, 7, ascii(VENDOR, 0), ascii(VENDOR, 8), ascii(VENDOR, 4)),
    leaf(
      1,
      SIGNATURE,
      CLFLUSH_LINE,
      SSE3 | SSSE3 | CX16 | SSE41 | SSE42 | X2APIC | MOVBE | POPCNT | TSC_DEADLINE | RDRAND | HYPERVISOR_BIT,
      FPU | PSE | TSC | MSR | PAE | CX8 | APIC | SEP | MTRR | PGE | CMOV | PAT | CLFSH | MMX | FXSR | SSE | SSE2,
    ),
    // Leaves 2-6 read as zeros (no cache/topology/power descriptions); leaf 7 subleaf 0: max subleaf 0.
    leaf(7, 0, FSGSBASE | RDSEED, RDPID, 0, 0, CPUID_FLAG_SIGNIFICANT_INDEX),
    leaf(0x40000000, 0x40000000, ascii(HYPERVISOR, 0), ascii(HYPERVISOR, 4), ascii(HYPERVISOR, 8)),
    leaf(0x80000000, 0x80000008, 0, 0, 0),
    leaf(0x80000001, 0, 0, LAHF_LM | LZCNT, SYSCALL | NX | PDPE1GB | RDTSCP | LM),
    brand(0),
    brand(1),
    brand(2),
    // 48 bits of linear and 40 of physical address.
    leaf(0x80000008, 0x3028, 0, 0, 0),
  ];
}
