// System instructions: HLT, CLI/STI, PUSHF/POPF, IN/OUT, CPUID, RDMSR/WRMSR, RDTSC/RDTSCP, MOV to and from
// control registers, LGDT/LIDT/SGDT/SIDT, SMSW/LMSW, CLTS, INVLPG, WBINVD/INVD (Intel SDM vol. 2 and 3).

import { CPUID_FLAG_SIGNIFICANT_INDEX } from "../../../arch/x86/cpu_state.js";
import {
  type Cpu,
  CR0_ET,
  CR0_PE,
  CR0_PG,
  CR0_TS,
  CR4_PAE,
  CR4_PGE,
  CR4_PSE,
  CR4_TSD,
  CS,
  EFER_LMA,
  EFER_LME,
  RAX,
  RCX,
  RDX,
  TR,
} from "../cpu.js";
import { fault, GP, gp, ud } from "../fault.js";
import { AC, ARITH, DF, FIXED1, ID, IF, IOPL, NT, OF, RF, TF, VIF, VIP, VM } from "../flags.js";
import type { Insn } from "../insn.js";
import { MAP_0F } from "../insn.js";
import { readMsr, readTsc, writeMsr } from "../msrs.js";
import { def, defGroup } from "../opcodes.js";
import { operandLinear, readRm, writeReg, writeRm } from "../operands.js";
import { tssBase } from "../segmentation.js";
import { pop, push } from "../stack.js";

const iopl = (cpu: Cpu) => (cpu.eflags & IOPL) >> 12;

/** Privileged instructions: #GP(0) unless CPL 0. */
export function requireCpl0(cpu: Cpu): void {
  if (cpu.protectedMode && cpu.cpl !== 0) gp(0);
}

def(
  0xf4,
  (cpu) => {
    requireCpl0(cpu);
    cpu.halted = true;
    cpu.stopBlock = true;
  },
  true,
);
def(0xfa, (cpu) => {
  if (cpu.protectedMode && iopl(cpu) < cpu.cpl) gp(0);
  cpu.eflags &= ~IF;
});
def(
  0xfb,
  (cpu) => {
    if (cpu.protectedMode && iopl(cpu) < cpu.cpl) gp(0);
    // STI: interrupts stay blocked until after the next instruction.
    if (!(cpu.eflags & IF)) cpu.interruptShadow = true;
    cpu.eflags |= IF;
  },
  true,
);

// PUSHF (9C), POPF (9D): which bits POPF may change depends on CPL and IOPL (SDM vol. 2, POPF).
def(0x9c, (cpu, i) => {
  if (cpu.eflags & VM && iopl(cpu) < 3) gp(0);
  // VM and RF read as zero in the pushed image.
  push(cpu, i.stackSize, cpu.getEflags() & ~(VM | RF));
});
def(
  0x9d,
  (cpu, i) => {
    if (cpu.eflags & VM && iopl(cpu) < 3) gp(0);
    const v = pop(cpu, i.stackSize);
    let changeable = ARITH | TF | DF | OF | NT | AC | ID;
    if (!cpu.protectedMode || cpu.cpl === 0) changeable |= IOPL | IF;
    else if (cpu.cpl <= iopl(cpu)) changeable |= IF;
    if (i.stackSize === 2) changeable &= 0xffff;
    const old = cpu.getEflags();
    const next = (old & ~changeable) | (v & changeable);
    cpu.setEflags((next & ~(VIF | VIP | VM | RF)) | (old & (VIF | VIP | VM)) | FIXED1);
    cpu.stopBlock = true;
  },
  true,
);

// IN and OUT (E4-E7 with imm8 port, EC-EF with DX).
/** I/O permission: IOPL, then the TSS's I/O bitmap (SDM vol. 1, 19.5). */
export function checkIo(cpu: Cpu, port: number, size: number): void {
  if (!cpu.protectedMode || (cpu.cpl <= iopl(cpu) && !(cpu.eflags & VM))) return;
  const base = tssBase(cpu);
  const limit = cpu.segLimit[TR]!;
  if (limit < 0x67) gp(0);
  const mem = cpu.mem;
  mem.supervisorOverride = true;
  try {
    const bitmap = mem.read16(base + 0x66);
    const at = bitmap + (port >> 3);
    if (at + 1 > limit) gp(0);
    const bits = mem.read16(base + at);
    const mask = ((1 << size) - 1) << (port & 7);
    if (bits & mask) gp(0);
  } finally {
    mem.supervisorOverride = false;
  }
}
function inOut(cpu: Cpu, i: Insn, port: number, size: number, out: boolean): void {
  checkIo(cpu, port, size);
  if (out) {
    cpu.io.write(port, size, cpu.lo[RAX]!);
    if (cpu.io.deviceStop) cpu.stopBlock = true;
  } else {
    writeReg(cpu, i, RAX, size, cpu.io.read(port, size));
  }
}
const ioSize = (i: Insn) => (i.op & 1 ? (i.opsize === 2 ? 2 : 4) : 1);
def(0xe4, (cpu, i) => inOut(cpu, i, i.imm & 0xff, 1, false));
def(0xe5, (cpu, i) => inOut(cpu, i, i.imm & 0xff, ioSize(i), false));
def(0xe6, (cpu, i) => inOut(cpu, i, i.imm & 0xff, 1, true));
def(0xe7, (cpu, i) => inOut(cpu, i, i.imm & 0xff, ioSize(i), true));
def(0xec, (cpu, i) => inOut(cpu, i, cpu.lo[RDX]! & 0xffff, 1, false));
def(0xed, (cpu, i) => inOut(cpu, i, cpu.lo[RDX]! & 0xffff, ioSize(i), false));
def(0xee, (cpu, i) => inOut(cpu, i, cpu.lo[RDX]! & 0xffff, 1, true));
def(0xef, (cpu, i) => inOut(cpu, i, cpu.lo[RDX]! & 0xffff, ioSize(i), true));

const CPUID1_EDX_APIC = 1 << 9;
const CPUID1_ECX_X2APIC = 1 << 21;
const CPUID1_ECX_TSC_DEADLINE = 1 << 24;

// CPUID (0F A2): from the table the VMM set; leaves past the maximum answer as the highest basic leaf.
def(MAP_0F + 0xa2, (cpu) => {
  const leaf = cpu.lo[RAX]! >>> 0;
  const sub = cpu.lo[RCX]! >>> 0;
  const table = cpu.cpuid;
  const find = (l: number) =>
    table.find((e) => e.function === l && (!(e.flags & CPUID_FLAG_SIGNIFICANT_INDEX) || e.index === sub));
  let e = find(leaf);
  if (!e) {
    const maxBasic = find(0)?.eax ?? 0;
    const maxExt = find(0x80000000)?.eax ?? 0;
    const inRange = leaf >= 0x80000000 ? leaf <= maxExt : leaf >= 0x40000000 ? false : leaf <= maxBasic;
    if (!inRange && leaf < 0x40000000) e = find(maxBasic);
  }
  const set = (r: number, v: number) => {
    cpu.lo[r] = v | 0;
    cpu.hi[r] = 0;
  };
  let ecx = e?.ecx ?? 0;
  let edx = e?.edx ?? 0;
  // Without an irqchip there is no local APIC: leaf 1 says so, whatever the table holds.
  if (leaf === 1 && !cpu.platform) {
    ecx &= ~(CPUID1_ECX_X2APIC | CPUID1_ECX_TSC_DEADLINE);
    edx &= ~CPUID1_EDX_APIC;
  }
  set(RAX, e?.eax ?? 0);
  set(3, e?.ebx ?? 0);
  set(RCX, ecx);
  set(RDX, edx);
});

// RDMSR (0F 32), WRMSR (0F 30): CPL 0; ECX selects; EDX:EAX is the value.
def(MAP_0F + 0x32, (cpu) => {
  requireCpl0(cpu);
  const v = readMsr(cpu, cpu.lo[RCX]! >>> 0);
  cpu.lo[RAX] = Number(v & 0xffffffffn) | 0;
  cpu.lo[RDX] = Number(v >> 32n) | 0;
  cpu.hi[RAX] = 0;
  cpu.hi[RDX] = 0;
});
def(
  MAP_0F + 0x30,
  (cpu) => {
    requireCpl0(cpu);
    const v = (BigInt(cpu.lo[RDX]! >>> 0) << 32n) | BigInt(cpu.lo[RAX]! >>> 0);
    writeMsr(cpu, cpu.lo[RCX]! >>> 0, v);
    cpu.updateMode();
  },
  true,
);
// RDTSC (0F 31), RDTSCP (0F 01 F9): CR4.TSD makes them privileged.
function rdtsc(cpu: Cpu): void {
  if (cpu.cr4 & CR4_TSD && cpu.protectedMode && cpu.cpl !== 0) gp(0);
  const t = readTsc(cpu);
  cpu.lo[RAX] = Number(t & 0xffffffffn) | 0;
  cpu.lo[RDX] = Number(t >> 32n) | 0;
  cpu.hi[RAX] = 0;
  cpu.hi[RDX] = 0;
}
def(MAP_0F + 0x31, (cpu) => rdtsc(cpu));

// MOV r, CRn (0F 20) and MOV CRn, r (0F 22): the r/m field is always a register.
def(MAP_0F + 0x20, (cpu, i) => {
  requireCpl0(cpu);
  const n = i.reg;
  let v: number;
  if (n === 0) v = cpu.cr0 >>> 0;
  else if (n === 2) v = cpu.cr2;
  else if (n === 3) v = cpu.cr3;
  else if (n === 4) v = cpu.cr4 >>> 0;
  else if (n === 8 && cpu.codeSize === 8) v = cpu.platform ? cpu.platform.apic.cr8 : cpu.cr8;
  else return ud();
  if (cpu.codeSize === 8) cpu.setRegNumber(i.rm, v);
  else {
    cpu.lo[i.rm] = v | 0;
    cpu.hi[i.rm] = 0;
  }
});
def(
  MAP_0F + 0x22,
  (cpu, i) => {
    requireCpl0(cpu);
    const n = i.reg;
    const v = cpu.codeSize === 8 ? cpu.regNumber(i.rm) : cpu.lo[i.rm]! >>> 0;
    if (n === 0) writeCr0(cpu, v);
    else if (n === 2) cpu.cr2 = v;
    else if (n === 3) {
      cpu.cr3 = v;
      cpu.mem.tlb.flushNonGlobal();
    } else if (n === 4) writeCr4(cpu, v);
    else if (n === 8 && cpu.codeSize === 8) {
      if (v > 15) gp(0);
      // CR8 is the local APIC's TPR (bits 7:4) in 64-bit mode.
      if (cpu.platform) cpu.platform.apic.cr8 = v;
      cpu.cr8 = v;
    } else ud();
    cpu.stopBlock = true;
  },
  true,
);

/** CR0 bits that exist (the rest must be zero in 64-bit writes). */
const CR0_RESERVED_HI = 4294967296;
export function writeCr0(cpu: Cpu, v: number): void {
  if (v >= CR0_RESERVED_HI) gp(0);
  v |= CR0_ET;
  if (v & CR0_PG && !(v & CR0_PE)) gp(0);
  if (v & (1 << 29) && !(v & (1 << 30))) gp(0);
  const enablingPaging = (v & CR0_PG) !== 0 && !(cpu.cr0 & CR0_PG);
  if (enablingPaging && cpu.efer & EFER_LME) {
    if (!(cpu.cr4 & CR4_PAE)) gp(0);
    cpu.efer |= EFER_LMA;
  }
  if (!(v & CR0_PG) && cpu.cr0 & CR0_PG) {
    if (cpu.codeSize === 8) gp(0);
    cpu.efer &= ~EFER_LMA;
  }
  cpu.cr0 = v | 0;
  cpu.mem.tlb.flushAll();
  cpu.updateMode();
}

const CR4_VALID = 0x3f07ff | (1 << 16) | (1 << 17) | (1 << 18) | (1 << 20) | (1 << 21);
export function writeCr4(cpu: Cpu, v: number): void {
  if (v >= CR0_RESERVED_HI || v & ~CR4_VALID) gp(0);
  if (cpu.efer & EFER_LMA && !(v & CR4_PAE)) gp(0);
  const changed = (cpu.cr4 ^ v) & (CR4_PGE | CR4_PAE | CR4_PSE);
  cpu.cr4 = v | 0;
  if (changed) cpu.mem.tlb.flushAll();
}

// Group 7 (0F 01): SGDT /0, SIDT /1, LGDT /2, LIDT /3, SMSW /4, LMSW /6, INVLPG /7; with mod 3, SWAPGS and RDTSCP.
function descriptorTable(cpu: Cpu, i: Insn, store: boolean, idt: boolean): void {
  if (i.mod === 3) ud();
  const wide = cpu.codeSize === 8;
  const lin = operandLinear(cpu, i, wide ? 10 : 6);
  const mem = cpu.mem;
  if (store) {
    if (cpu.cr4 & (1 << 11) && cpu.cpl > 0) gp(0);
    const base = idt ? cpu.idtBase : cpu.gdtBase;
    mem.write16(lin, idt ? cpu.idtLimit : cpu.gdtLimit);
    if (wide) mem.write64(lin + 2, base | 0, Math.floor(base / 4294967296) | 0);
    else mem.write32(lin + 2, base);
    return;
  }
  requireCpl0(cpu);
  const limit = mem.read16(lin);
  let base: number;
  if (wide) {
    const lo = mem.read64(lin + 2);
    base = cpu.vHi * 4294967296 + (lo >>> 0);
    if (base < -(2 ** 47) || base >= 2 ** 47) gp(0);
  } else {
    base = mem.read32(lin + 2) >>> 0;
    if (i.opsize === 2) base &= 0xffffff;
  }
  if (idt) {
    cpu.idtBase = base;
    cpu.idtLimit = limit;
  } else {
    cpu.gdtBase = base;
    cpu.gdtLimit = limit;
  }
}
defGroup(MAP_0F + 0x01, 0, (cpu, i) => descriptorTable(cpu, i, true, false));
defGroup(MAP_0F + 0x01, 1, (cpu, i) => descriptorTable(cpu, i, true, true));
defGroup(MAP_0F + 0x01, 2, (cpu, i) => descriptorTable(cpu, i, false, false));
defGroup(MAP_0F + 0x01, 3, (cpu, i) => descriptorTable(cpu, i, false, true));
defGroup(MAP_0F + 0x01, 4, (cpu, i) => {
  if (cpu.cr4 & (1 << 11) && cpu.cpl > 0) gp(0);
  if (i.mod === 3) writeReg(cpu, i, i.rm, i.opsize, i.opsize === 2 ? cpu.cr0 & 0xffff : cpu.cr0 >>> 0);
  else writeRm(cpu, i, 2, cpu.cr0 & 0xffff);
});
defGroup(
  MAP_0F + 0x01,
  6,
  (cpu, i) => {
    requireCpl0(cpu);
    // LMSW changes PE, MP, EM, TS only, and cannot clear PE.
    const v = readRm(cpu, i, 2);
    writeCr0(cpu, (cpu.cr0 & ~0xe) | (v & 0xf) | (cpu.cr0 & CR0_PE));
  },
  true,
);
defGroup(MAP_0F + 0x01, 7, (cpu, i) => {
  if (i.mod === 3) {
    const rm = i.rm & 7;
    if (rm === 0) return swapgs(cpu);
    if (rm === 1) {
      rdtsc(cpu);
      cpu.lo[RCX] = Number(cpu.msrs.get(0xc0000103) ?? 0n) | 0;
      cpu.hi[RCX] = 0;
      return;
    }
    return ud();
  }
  requireCpl0(cpu);
  cpu.mem.tlb.flushPage(operandLinear(cpu, i, 1));
});

/** SWAPGS: 64-bit mode, CPL 0; exchanges GS.base with IA32_KERNEL_GS_BASE. */
function swapgs(cpu: Cpu): void {
  if (cpu.codeSize !== 8) ud();
  requireCpl0(cpu);
  const gs = cpu.segBase[5]!;
  cpu.segBase[5] = cpu.kernelGsBase;
  cpu.kernelGsBase = gs;
}

// CLTS (0F 06), INVD (0F 08), WBINVD (0F 09): privileged; caches are not modelled.
def(MAP_0F + 0x06, (cpu) => {
  requireCpl0(cpu);
  cpu.cr0 &= ~CR0_TS;
});
def(MAP_0F + 0x08, (cpu) => requireCpl0(cpu));
def(MAP_0F + 0x09, (cpu) => requireCpl0(cpu));
// UD2 (0F 0B): the architecturally undefined instruction.
def(MAP_0F + 0x0b, () => ud());

void CS;
void fault;
void GP;
