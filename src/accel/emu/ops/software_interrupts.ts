// Software interrupts and the interrupt return (Intel SDM vol. 2, INT n/INTO/INT3/INT1 and IRET; vol. 3,
// 6.12-6.14): INT n (CD), INT3 (CC), INTO (CE), INT1/ICEBP (F1) go through the IVT or IDT with the next
// instruction as the return address; IRET/IRETD/IRETQ (CF) in real mode, virtual-8086 mode (IOPL 3),
// protected mode (same privilege, or an outer one popping SS:ESP and nulling data segments the new CPL may not
// use) and IA-32e mode (64-bit mode always pops SS:RSP; a null SS is allowed returning to 64-bit code below
// CPL 3). EFLAGS changes by CPL and IOPL as the SDM says. A task return (NT set) ends the run with a failure
// note; so does a return to virtual-8086 mode, which the emulator does not enter.
import { ATTR_L, type Cpu, CS, RSP } from "../cpu.js";
import { BP, DB, fault, GP, gp, NP, OF_VECTOR, ud } from "../fault.js";
import { AC, AF, CF, DF, ID, IF, IOPL, NT, OF, PF, RF, SF, TF, VIF, VIP, VM, ZF } from "../flags.js";
import type { Insn } from "../insn.js";
import { deliver, EventKind } from "../interrupts.js";
import { def, unimplementedSeen } from "../opcodes.js";
import { descriptorAttr, loadCodeSegment, loadRealCs, readDescriptor } from "../segmentation.js";
import { adjustStack, peek, setStackPointer } from "../stack.js";
import { checkReturnSs, checkTarget, loadSs, nullInaccessibleSegments, stackValue, taskSwitch } from "./far.js";

const iopl = (cpu: Cpu) => (cpu.eflags & IOPL) >> 12;

/**
 * Raises software interrupt `vector`: the return address is the next instruction, so cpu.ip moves there for
 * delivery (and back if delivery faults: the fault belongs to this instruction). deliver() sets cpu.ip and
 * cpu.nextIp to the handler.
 */
function softwareInterrupt(cpu: Cpu, vector: number, kind: EventKind): void {
  const ip = cpu.ip;
  cpu.ip = cpu.nextIp;
  try {
    deliver(cpu, vector, kind, 0, false);
  } catch (e) {
    cpu.ip = ip;
    throw e;
  }
  cpu.stopBlock = true;
}

// INT n (CD ib): in virtual-8086 mode IOPL < 3 traps to the monitor with #GP(0).
def(
  0xcd,
  (cpu, i) => {
    if (cpu.eflags & VM && iopl(cpu) < 3) gp(0);
    softwareInterrupt(cpu, i.imm & 0xff, EventKind.SOFTWARE);
  },
  true,
);
// INT3 (CC): #BP as a trap, with the gate's DPL checked.
def(0xcc, (cpu) => softwareInterrupt(cpu, BP, EventKind.SOFTWARE), true);
// INTO (CE): #OF when OF is set; invalid in 64-bit mode.
def(
  0xce,
  (cpu) => {
    if (cpu.codeSize === 8) ud();
    if (cpu.flags.of()) softwareInterrupt(cpu, OF_VECTOR, EventKind.SOFTWARE);
  },
  true,
);
// INT1/ICEBP (F1): a #DB trap delivered like a hardware event (no DPL check, EXT set in error codes).
def(0xf1, (cpu) => softwareInterrupt(cpu, DB, EventKind.EXCEPTION), true);

/** EFLAGS bits IRET always restores, and those it restores with a 32- or 64-bit operand size. */
const IRET_ALWAYS = CF | PF | AF | ZF | SF | TF | DF | OF | NT;
const IRET_WIDE = RF | AC | ID;
/** What real-mode IRETD keeps: VM, VIF, VIP (SDM: tempEFLAGS AND 257FD5H OR EFLAGS AND 1A0000H). */
const REAL_IRETD_KEEP = VM | VIF | VIP;

function iret(cpu: Cpu, i: Insn): void {
  const size = i.opsize;
  const ip = stackValue(cpu, size, 0);
  const selector = peek(cpu, size, size) & 0xffff;
  const image = peek(cpu, size, 2 * size);
  const old = cpu.getEflags();
  if (!cpu.protectedMode) {
    if (ip > cpu.segLimit[CS]!) gp(0);
    // Reserved bits (3, 5, 15) stay clear whatever the image holds.
    const next = size === 2 ? (old & ~0xffff) | (image & 0x7fd5) : (image & 0x257fd5) | (old & REAL_IRETD_KEEP);
    finish(cpu, 3 * size, selector, ip, next);
    return;
  }
  if (old & VM) {
    // Virtual-8086 mode: IOPL 3 lets IRET run; VM, IOPL, VIF and VIP are not changed by it.
    if (iopl(cpu) < 3) gp(0);
    if (ip > cpu.segLimit[CS]!) gp(0);
    const keep = IOPL | VM | VIF | VIP | (size === 2 ? ~0xffff : 0);
    finish(cpu, 3 * size, selector, ip, (old & keep) | (image & ~keep & 0x3f7fd5));
    return;
  }
  if (old & NT) {
    if (cpu.longMode) gp(0);
    taskSwitch("IRET with EFLAGS.NT set");
  }
  if (!cpu.longMode && image & VM && cpu.cpl === 0 && size === 4) {
    const note = `the emulator does not implement virtual-8086 mode (IRET to it at rip 0x${cpu.ip.toString(16)}); it raised #GP`;
    if (!unimplementedSeen.includes(note) && unimplementedSeen.length < 16) unimplementedSeen.push(note);
    gp(0);
  }
  protectedReturn(cpu, size, ip, selector, image);
}

/** Real and virtual-8086 mode: the stack drops the frame, CS:IP and FLAGS take the popped values. */
function finish(cpu: Cpu, frame: number, selector: number, ip: number, flags: number): void {
  adjustStack(cpu, frame);
  loadRealCs(cpu, selector);
  cpu.setEflags(flags);
  cpu.updateMode();
  cpu.nextIp = ip;
  cpu.stopBlock = true;
}

function protectedReturn(cpu: Cpu, size: number, ip: number, selector: number, image: number): void {
  if ((selector & 0xfffc) === 0) gp(0);
  const d = readDescriptor(cpu, selector);
  const attr = descriptorAttr(d.hi);
  if (!(attr & 0x10) || !(attr & 8)) fault(GP, selector & 0xfffc);
  const rpl = selector & 3;
  const dpl = (attr >> 5) & 3;
  const cpl = cpu.cpl;
  if (rpl < cpl) fault(GP, selector & 0xfffc);
  if (attr & 4 ? dpl > rpl : dpl !== rpl) fault(GP, selector & 0xfffc);
  if (!(attr & 0x80)) fault(NP, selector & 0xfffc);
  const toLong = cpu.longMode && (attr & ATTR_L) !== 0;
  if (cpu.longMode && toLong && attr & (1 << 14)) fault(GP, selector & 0xfffc);
  if (size === 2) ip &= 0xffff;
  else if (size === 4) ip >>>= 0;
  // 64-bit mode pops SS:RSP on every IRET; elsewhere only a return to an outer privilege does.
  const popsStack = rpl > cpl || cpu.codeSize === 8;
  let sp = 0;
  let ssSelector = 0;
  let ssd: ReturnType<typeof checkReturnSs>;
  if (popsStack) {
    sp = stackValue(cpu, size, 3 * size);
    ssSelector = peek(cpu, size, 4 * size) & 0xffff;
    ssd = checkReturnSs(cpu, ssSelector, rpl, toLong && rpl !== 3);
  }
  checkTarget(cpu, d, ip);

  // EFLAGS by the privilege the IRET runs at (SDM vol. 2, IRET).
  let changeable = IRET_ALWAYS;
  if (size !== 2) changeable |= IRET_WIDE;
  if (cpl <= iopl(cpu)) changeable |= IF;
  if (cpl === 0) {
    changeable |= IOPL;
    if (size !== 2) changeable |= VIF | VIP;
  }
  if (size === 2) changeable &= 0xffff;
  const old = cpu.getEflags();
  const flags = (old & ~changeable) | (image & changeable);

  loadCodeSegment(cpu, selector, d, rpl);
  if (popsStack) {
    loadSs(cpu, ssSelector, ssd, rpl);
    if (cpu.longMode) cpu.setRegNumber(RSP, size === 2 ? sp & 0xffff : size === 4 ? sp >>> 0 : sp);
    else setStackPointer(cpu, sp);
  } else adjustStack(cpu, 3 * size);
  cpu.setEflags(flags);
  cpu.updateMode();
  if (rpl > cpl) nullInaccessibleSegments(cpu);
  cpu.nextIp = ip;
  cpu.stopBlock = true;
}

def(0xcf, iret, true);
