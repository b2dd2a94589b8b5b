// Fast system calls (Intel SDM vol. 2, SYSCALL, SYSRET, SYSENTER, SYSEXIT): flat CS and SS loaded from MSRs
// with fixed descriptor caches, no descriptor table read. SYSCALL/SYSRET need EFER.SCE and IA-32e mode
// (SYSCALL from compatibility mode enters at CSTAR, as AMD's processors do; legacy mode raises #UD);
// SYSENTER/SYSEXIT need protected mode and a non-null IA32_SYSENTER_CS.
import { ATTR_DB, ATTR_G, ATTR_L, ATTR_P, ATTR_S, type Cpu, CS, EFER_SCE, RCX, RDX, RSP, SS } from "../cpu.js";
import { gp, ud } from "../fault.js";
import { IF, RF, VM } from "../flags.js";
import { MAP_0F } from "../insn.js";
import { def } from "../opcodes.js";
import { setSegment } from "../segmentation.js";
import { rexW } from "./far.js";

const CANONICAL = 2 ** 47;
const FLAT_LIMIT = 0xffffffff;
/** Execute/read code, accessed; read/write data, accessed. */
const CODE = 0xb | ATTR_S | ATTR_P | ATTR_G;
const DATA = 0x3 | ATTR_S | ATTR_P | ATTR_G | ATTR_DB;

const canonical = (v: number) => v >= -CANONICAL && v < CANONICAL;

/** Loads the flat CS (64-bit with `long`, else 32-bit) and SS at privilege `cpl`. */
function loadFlat(cpu: Cpu, cs: number, ss: number, cpl: number, long: boolean): void {
  const dpl = cpl << 5;
  setSegment(cpu, SS, (ss & 0xfffc) | cpl, 0, FLAT_LIMIT, DATA | dpl);
  setSegment(cpu, CS, (cs & 0xfffc) | cpl, 0, FLAT_LIMIT, CODE | dpl | (long ? ATTR_L : ATTR_DB));
  cpu.cpl = cpl;
  cpu.updateMode();
  cpu.stopBlock = true;
}

// SYSCALL (0F 05): RCX = return RIP, R11 = RFLAGS, RFLAGS &= ~FMASK, CS = STAR[47:32], SS = that + 8, CPL 0.
def(
  MAP_0F + 0x05,
  (cpu) => {
    if (!cpu.longMode || !(cpu.efer & EFER_SCE)) ud();
    const star = Number((cpu.star >> 32n) & 0xffffn);
    const target = cpu.codeSize === 8 ? cpu.lstar : cpu.cstar;
    const flags = cpu.getEflags();
    cpu.setRegNumber(RCX, cpu.nextIp);
    cpu.lo[11] = flags;
    cpu.hi[11] = 0;
    cpu.setEflags(flags & ~cpu.sfmask & ~RF);
    loadFlat(cpu, star, star + 8, 0, true);
    cpu.nextIp = target;
  },
  true,
);

// SYSRET (0F 07): to 64-bit mode with REX.W (CS = STAR[63:48] + 16), else to compatibility mode
// (CS = STAR[63:48]); SS = STAR[63:48] + 8; RFLAGS from R11; CPL 3.
def(
  MAP_0F + 0x07,
  (cpu, i) => {
    if (!cpu.longMode || cpu.codeSize !== 8 || !(cpu.efer & EFER_SCE)) ud();
    if (cpu.cpl !== 0) gp(0);
    const base = Number((cpu.star >> 48n) & 0xffffn);
    const long = rexW(i);
    const target = long ? cpu.regNumber(RCX) : cpu.lo[RCX]! >>> 0;
    if (!canonical(target)) gp(0);
    cpu.setEflags((cpu.lo[11]! & 0x3c7fd7) | 2);
    loadFlat(cpu, long ? base + 16 : base, base + 8, 3, long);
    cpu.nextIp = target;
  },
  true,
);

// SYSENTER (0F 34): CS = SYSENTER_CS, SS = CS + 8, rSP and rIP from the SYSENTER MSRs; VM, IF and RF cleared.
def(
  MAP_0F + 0x34,
  (cpu) => {
    if (!cpu.protectedMode || (cpu.sysenterCs & 0xfffc) === 0) gp(0);
    const long = cpu.longMode;
    cpu.eflags &= ~(VM | IF | RF);
    loadFlat(cpu, cpu.sysenterCs, cpu.sysenterCs + 8, 0, long);
    if (long) {
      cpu.setRegNumber(RSP, cpu.sysenterEsp);
      cpu.nextIp = cpu.sysenterEip;
    } else {
      cpu.lo[RSP] = cpu.sysenterEsp | 0;
      cpu.nextIp = cpu.sysenterEip >>> 0;
    }
  },
  true,
);

// SYSEXIT (0F 35): to CPL 3 with rSP = rCX and rIP = rDX; CS = SYSENTER_CS + 16 (+ 32 with REX.W for
// 64-bit mode), SS = CS + 8.
def(
  MAP_0F + 0x35,
  (cpu, i) => {
    if (!cpu.protectedMode || (cpu.sysenterCs & 0xfffc) === 0 || cpu.cpl !== 0) gp(0);
    const long = cpu.codeSize === 8 && rexW(i);
    const base = cpu.sysenterCs;
    if (long) {
      const sp = cpu.regNumber(RCX);
      const ip = cpu.regNumber(RDX);
      if (!canonical(sp) || !canonical(ip)) gp(0);
      loadFlat(cpu, base + 32, base + 40, 3, true);
      cpu.setRegNumber(RSP, sp);
      cpu.nextIp = ip;
    } else {
      const sp = cpu.lo[RCX]!;
      const ip = cpu.lo[RDX]! >>> 0;
      loadFlat(cpu, base + 16, base + 24, 3, false);
      cpu.lo[RSP] = sp;
      cpu.hi[RSP] = 0;
      cpu.nextIp = ip;
    }
  },
  true,
);
