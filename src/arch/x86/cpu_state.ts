// Accelerator-neutral x86 CPU state: what loaders, the CLI, fault reports and the VMM read and write on a vCPU,
// whichever accelerator runs it. Field names follow the SDM; KVM's encoders live in accel/kvm.

/** The general registers, RIP and RFLAGS. */
export interface Regs {
  rax: bigint;
  rbx: bigint;
  rcx: bigint;
  rdx: bigint;
  rsi: bigint;
  rdi: bigint;
  rsp: bigint;
  rbp: bigint;
  r8: bigint;
  r9: bigint;
  r10: bigint;
  r11: bigint;
  r12: bigint;
  r13: bigint;
  r14: bigint;
  r15: bigint;
  rip: bigint;
  rflags: bigint;
}
/** Display order (and KVM's struct order); the emulator numbers GPRs the SDM's way itself. */
export const REG_NAMES = [
  "rax",
  "rbx",
  "rcx",
  "rdx",
  "rsi",
  "rdi",
  "rsp",
  "rbp",
  "r8",
  "r9",
  "r10",
  "r11",
  "r12",
  "r13",
  "r14",
  "r15",
  "rip",
  "rflags",
] as const satisfies readonly (keyof Regs)[];

/** A segment register with its hidden part (the descriptor cache), unpacked. */
export interface Segment {
  base: bigint;
  limit: number;
  selector: number;
  type: number;
  present: number;
  dpl: number;
  db: number;
  s: number;
  l: number;
  g: number;
  avl: number;
  unusable: number;
}

/** GDTR, IDTR. */
export interface DescriptorTable {
  base: bigint;
  limit: number;
}

export const SEGMENT_NAMES = ["cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt"] as const;
export type SegmentName = (typeof SEGMENT_NAMES)[number];
export const CONTROL_NAMES = ["cr0", "cr2", "cr3", "cr4", "cr8", "efer", "apicBase"] as const;

/** Segments, descriptor tables, control registers, EFER and the APIC base. */
export type Sregs = Record<SegmentName, Segment> &
  Record<(typeof CONTROL_NAMES)[number], bigint> & {
    gdt: DescriptorTable;
    idt: DescriptorTable;
  };

export interface MsrEntry {
  index: number;
  data: bigint;
}

/** One CPUID leaf (and sub-leaf, when `flags` has CPUID_FLAG_SIGNIFICANT_INDEX). */
export interface CpuidEntry {
  function: number;
  index: number;
  flags: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}
/** The entry depends on ECX (the sub-leaf). Same value as KVM_CPUID_FLAG_SIGNIFCANT_INDEX. */
export const CPUID_FLAG_SIGNIFICANT_INDEX = 1;

/** A vCPU's multiprocessing state (the same numbering as KVM_MP_STATE_*). */
export const MpState = { RUNNABLE: 0, UNINITIALIZED: 1, INIT_RECEIVED: 2, HALTED: 3, SIPI_RECEIVED: 4 } as const;
export type MpStateValue = (typeof MpState)[keyof typeof MpState];
