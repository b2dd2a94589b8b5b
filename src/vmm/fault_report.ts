// A readable account of a vCPU's state when the guest stopped abnormally: the mode, the registers, the
// instruction at CS:RIP disassembled, and what the accelerator adds (its notes).

import type { AccelVcpu } from "../accel/accelerator.js";
import { codeBitness, cpuMode, pagingEnabled } from "../arch/x86/cpu_mode.js";
import { REG_NAMES, type Regs, SEGMENT_NAMES, type Sregs } from "../arch/x86/cpu_state.js";
import { disassembleOne, hexBytes, MAX_INSTRUCTION_LENGTH } from "../arch/x86/disasm.js";
import type { GuestMemory } from "../memory/guest_memory.js";

const hex = (v: bigint | number, width = 16) => v.toString(16).padStart(width, "0");

/** Where CS:RIP points in guest physical memory, or why it cannot be said. */
export function instructionAddress(vcpu: AccelVcpu, regs: Regs, sregs: Sregs): { gpa?: number; why?: string } {
  const bitness = codeBitness(sregs);
  const ip = bitness === 64 ? regs.rip : regs.rip & 0xffff_ffffn;
  const linear = bitness === 64 ? ip : (sregs.cs.base + ip) & 0xffff_ffffn;
  if (!pagingEnabled(sregs)) return { gpa: Number(linear) };
  try {
    const t = vcpu.translate(linear);
    return t.valid ? { gpa: Number(t.physical) } : { why: `linear address 0x${hex(linear, 1)} is not mapped` };
  } catch (e) {
    return { why: `cannot translate 0x${hex(linear, 1)}: ${(e as Error).message}` };
  }
}

/** The instruction at CS:RIP as "bytes  text", from guest memory. */
export function describeInstruction(vcpu: AccelVcpu, memory: GuestMemory, regs: Regs, sregs: Sregs): string {
  const { gpa, why } = instructionAddress(vcpu, regs, sregs);
  if (gpa === undefined) return `(${why})`;
  // Read up to one instruction's worth of bytes, stopping at the end of RAM.
  let length = MAX_INSTRUCTION_LENGTH;
  while (length > 0 && !memory.contains(gpa, length)) length--;
  if (length === 0) return `(gpa 0x${hex(gpa, 1)} is outside guest RAM)`;
  const bytes = memory.read(gpa, length);
  const insn = disassembleOne(bytes, codeBitness(sregs), regs.rip);
  return `gpa 0x${hex(gpa, 1)}: ${hexBytes(insn.bytes)}  ${insn.text}`;
}

export function describeCpuState(vcpu: AccelVcpu, memory: GuestMemory): string {
  const regs = vcpu.getRegs();
  const sregs = vcpu.getSregs();
  const lines: string[] = [];
  lines.push(
    `  mode ${cpuMode(sregs)}  cr0=${hex(sregs.cr0, 8)} cr2=${hex(sregs.cr2)} cr3=${hex(sregs.cr3)} cr4=${hex(sregs.cr4, 8)} efer=${hex(sregs.efer, 4)}`,
  );
  for (let i = 0; i < REG_NAMES.length; i += 4) {
    const row = REG_NAMES.slice(i, i + 4).map((n) => `${n.padStart(6)}=${hex(regs[n])}`);
    lines.push(` ${row.join(" ")}`);
  }
  for (const name of SEGMENT_NAMES) {
    const s = sregs[name];
    lines.push(
      `  ${name.padEnd(3)} sel=${hex(s.selector, 4)} base=${hex(s.base)} limit=${hex(s.limit, 8)} type=${s.type} s=${s.s} dpl=${s.dpl} p=${s.present} db=${s.db} l=${s.l} g=${s.g}`,
    );
  }
  lines.push(`  gdt base=${hex(sregs.gdt.base)} limit=${hex(sregs.gdt.limit, 4)}`);
  lines.push(`  idt base=${hex(sregs.idt.base)} limit=${hex(sregs.idt.limit, 4)}`);
  const cs = sregs.cs.selector.toString(16).padStart(4, "0");
  lines.push(`  at ${cs}:${hex(regs.rip, 1)}  ${describeInstruction(vcpu, memory, regs, sregs)}`);
  for (const note of vcpu.notes()) lines.push(`  ${note}`);
  return lines.join("\n");
}
