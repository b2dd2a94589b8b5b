// Single system instructions on tsvmm's emulator, without a guest: a Cpu over 1 MiB of RAM with a GDT, IDT
// and TSS written by the test, one instruction decoded and executed, then its effects or its fault checked
// against the Intel SDM (vol. 2: IRET, RET, INT n, SYSCALL, SYSRET, SYSENTER, SYSEXIT, LAR, LSL, LTR, MOV DRn,
// BOUND, JMP/CALL far; vol. 3, 6.12: a fault while delivering leaves the interrupted context as it was).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ATTR_UNUSABLE,
  Cpu,
  CR0_ET,
  CR0_PE,
  CR0_PG,
  CR4_DE,
  CR4_PAE,
  CS,
  DS,
  EFER_LMA,
  EFER_LME,
  EFER_SCE,
  ES,
  RAX,
  RBX,
  RCX,
  RDX,
  RSP,
  SS,
  TR,
} from "../src/accel/emu/cpu.js";
import { decode } from "../src/accel/emu/decoder.js";
import { FAULT } from "../src/accel/emu/fault.js";
import { Memory } from "../src/accel/emu/memory.js";
import { PortIo } from "../src/accel/emu/port_io.js";
import { loadFromDescriptor, readDescriptor } from "../src/accel/emu/segmentation.js";
import { GuestMemory } from "../src/memory/guest_memory.js";
import "../src/accel/emu/ops/index.js";

const GDT = 0x1000;
const IDT = 0x2000;
const TSS = 0x3000;
const CODE = 0x8000;
const IF = 1 << 9;
const IOPL3 = 3 << 12;
const CF = 1;
const ZF = 1 << 6;

// Selectors of the test GDT.
const KCODE = 0x08;
const KDATA = 0x10;
const UCODE = 0x1b;
const UDATA = 0x23;
const KCODE64 = 0x28;
const UCODE64 = 0x33;
const TSS32 = 0x38;
const SMALL_KDATA = 0x40;
const TSS64 = 0x48;
const GATE64 = 0x5b;
const CONFORMING = 0x68;
const LDT_SELECTOR = 0x70;
const LDT = 0x3800;

/** A flat segment descriptor: access byte and flags nibble (G, D/B, L, AVL). */
function flat(access: number, flags: number, limit = 0xfffff): [number, number] {
  return [limit & 0xffff, ((flags << 20) | (limit & 0xf0000) | (access << 8)) >>> 0];
}
function system(base: number, limit: number, access: number): [number, number] {
  return [((base & 0xffff) << 16) | limit, ((base & 0xff000000) | (access << 8) | ((base >>> 16) & 0xff)) >>> 0];
}

interface Machine {
  cpu: Cpu;
  /** Runs one instruction at CODE: undefined, or the fault it raised. */
  step(bytes: number[]): { vector: number; error: number } | undefined;
  w32(addr: number, v: number): void;
  r32(addr: number): number;
  /** Loads a segment register from the test GDT. */
  load(seg: number, selector: number): void;
}

function machine(mode: "real" | "protected" | "long"): Machine {
  const guest = GuestMemory.createShared([{ gpa: 0, size: 1 << 20 }]);
  const cpu = new Cpu();
  cpu.mem = new Memory(cpu, guest);
  cpu.io = new PortIo();
  const mem = cpu.mem;
  const w32 = (a: number, v: number) => mem.write32(a, v);
  const entries: [number, number][] = [
    [0, 0],
    flat(0x9b, 0xc), // 0x08 code32 DPL0
    flat(0x93, 0xc), // 0x10 data DPL0
    flat(0xfb, 0xc), // 0x18 code32 DPL3
    flat(0xf3, 0xc), // 0x20 data DPL3
    flat(0x9b, 0xa), // 0x28 code64 DPL0
    flat(0xfb, 0xa), // 0x30 code64 DPL3
    system(TSS, 0x67, 0x89), // 0x38 32-bit TSS, available
    flat(0x93, 0x4, 0xfff), // 0x40 data DPL0, byte-granular limit 0xfff
    system(TSS, 0x67, 0x89), // 0x48 64-bit TSS (16 bytes)
    [0, 0],
    [(KCODE64 << 16) | 0x9000, 0xec00], // 0x58 64-bit call gate, DPL 3, to KCODE64:0x9000 (16 bytes)
    [0, 0],
    flat(0x9f, 0xc), // 0x68 conforming code32 DPL0
    system(LDT, 0xf, 0x82), // 0x70 LDT: two descriptors
  ];
  w32(LDT + 8, 0x0000ffff); // LDT entry 1: data DPL3, base 0x10000, limit 0xffff
  w32(LDT + 12, 0x0000f301);
  entries.forEach(([lo, hi], k) => {
    w32(GDT + k * 8, lo);
    w32(GDT + k * 8 + 4, hi);
  });
  cpu.gdtBase = GDT;
  cpu.gdtLimit = entries.length * 8 - 1;
  cpu.idtBase = IDT;
  cpu.idtLimit = mode === "long" ? 256 * 16 - 1 : mode === "real" ? 0x3ff : 256 * 8 - 1;
  if (mode === "real") cpu.idtBase = 0;
  const load = (seg: number, selector: number) => loadFromDescriptor(cpu, seg, selector, readDescriptor(cpu, selector));
  if (mode === "real") {
    for (let s = 0; s < 6; s++) {
      cpu.segSel[s] = 0;
      cpu.segBase[s] = 0;
      cpu.segLimit[s] = 0xffff;
      cpu.segAttr[s] = 0x93;
    }
    cpu.segAttr[CS] = 0x9b;
    cpu.cr0 = CR0_ET;
  } else {
    cpu.cr0 = CR0_ET | CR0_PE;
    if (mode === "long") {
      // Identity map of the first 2 MiB, user-accessible.
      w32(0x9000, 0xa007);
      w32(0xa000, 0xb007);
      w32(0xb000, 0x87);
      cpu.cr3 = 0x9000;
      cpu.cr4 = CR4_PAE;
      cpu.efer = EFER_LME | EFER_LMA;
      cpu.cr0 |= CR0_PG;
    }
    for (const s of [0, 2, 3, 4, 5]) load(s, KDATA);
    load(CS, mode === "long" ? KCODE64 : KCODE);
    load(TR, mode === "long" ? TSS64 : TSS32);
  }
  cpu.updateMode();
  cpu.lo[RSP] = 0x5000;
  const step = (bytes: number[]) => {
    bytes.forEach((b, k) => {
      mem.write8(CODE + k, b);
    });
    cpu.ip = CODE;
    const i = decode((off) => mem.fetch8(cpu.segBase[CS]! + off), CODE, cpu.codeSize);
    cpu.nextIp = CODE + i.len;
    try {
      i.exec(cpu, i);
    } catch (e) {
      if (e !== FAULT) throw e;
      return { vector: FAULT.vector, error: FAULT.errorCode };
    }
    cpu.ip = cpu.nextIp;
    return undefined;
  };
  return { cpu, step, w32, r32: (a) => mem.read32(a) >>> 0, load };
}

/** Puts a 32-bit machine at CPL 3 (CS 0x1b, SS 0x23). */
function toRing3(m: Machine): void {
  m.load(SS, UDATA);
  m.load(CS, UCODE);
  m.cpu.updateMode();
}

/** Writes a 32-bit stack frame of dwords at ESP (first value at the lowest address). */
function frame(m: Machine, values: number[]): void {
  values.forEach((v, k) => {
    m.w32(0x5000 + k * 4, v);
  });
}

test("IRET at CPL 3 with IOPL 0 changes neither IF nor IOPL, but the status flags", () => {
  const m = machine("protected");
  toRing3(m);
  m.cpu.setEflags(2);
  frame(m, [0x8100, UCODE, 2 | IF | IOPL3 | CF]);
  assert.equal(m.step([0xcf]), undefined);
  assert.equal(m.cpu.nextIp, 0x8100);
  assert.equal(m.cpu.getEflags(), 2 | CF);
  assert.equal(m.cpu.lo[RSP], 0x500c);
});

test("IRET from CPL 0 to CPL 3 pops SS:ESP, takes IF and IOPL, and nulls DS holding a DPL-0 segment", () => {
  const m = machine("protected");
  m.load(ES, UDATA);
  frame(m, [0x8100, UCODE, 2 | IF | IOPL3, 0x6000, UDATA]);
  assert.equal(m.step([0xcf]), undefined);
  const cpu = m.cpu;
  assert.equal(cpu.cpl, 3);
  assert.equal(cpu.segSel[SS], UDATA);
  assert.equal(cpu.lo[RSP], 0x6000);
  assert.equal(cpu.getEflags(), 2 | IF | IOPL3);
  assert.equal(cpu.segSel[DS], 0);
  assert.ok(cpu.segAttr[DS]! & ATTR_UNUSABLE);
  assert.equal(cpu.segSel[ES], UDATA, "ES held a DPL-3 segment");
});

test("RETF to an outer privilege with a null SS raises #GP(0) and changes nothing", () => {
  const m = machine("protected");
  frame(m, [0x8100, UCODE, 0x6000, 0]);
  assert.deepEqual(m.step([0xcb]), { vector: 13, error: 0 });
  assert.equal(m.cpu.segSel[CS], KCODE);
  assert.equal(m.cpu.lo[RSP], 0x5000);
});

test("far JMP to a non-conforming DPL-3 code segment from CPL 0 raises #GP(selector)", () => {
  const m = machine("protected");
  assert.deepEqual(m.step([0xea, 0x00, 0x81, 0x00, 0x00, 0x18, 0x00]), { vector: 13, error: 0x18 });
  assert.equal(m.step([0xea, 0x00, 0x81, 0x00, 0x00, 0x08, 0x00]), undefined);
  assert.equal(m.cpu.nextIp, 0x8100);
});

test("INT n through a gate whose DPL is below CPL: #GP(vector * 8 + 2), the INT itself faulting", () => {
  const m = machine("protected");
  toRing3(m);
  m.w32(IDT + 0x80 * 8, (KCODE << 16) | 0x9000);
  m.w32(IDT + 0x80 * 8 + 4, 0x8e00); // DPL 0
  assert.deepEqual(m.step([0xcd, 0x80]), { vector: 13, error: 0x80 * 8 + 2 });
  assert.equal(m.cpu.ip, CODE);
});

test("INT n from CPL 3: frame on the TSS's ring-0 stack; a push that faults leaves the interrupted context", () => {
  const m = machine("protected");
  toRing3(m);
  m.w32(IDT + 0x80 * 8, (KCODE << 16) | 0x9000);
  m.w32(IDT + 0x80 * 8 + 4, 0xee00); // DPL 3 interrupt gate
  m.w32(TSS + 4, 0x7000); // ESP0
  m.w32(TSS + 8, KDATA); // SS0
  const cpu = m.cpu;
  cpu.setEflags(2 | IF);
  assert.equal(m.step([0xcd, 0x80]), undefined);
  assert.equal(cpu.cpl, 0);
  assert.equal(cpu.nextIp, 0x9000);
  assert.equal(cpu.lo[RSP], 0x7000 - 20);
  assert.deepEqual(
    [0, 4, 8, 12, 16].map((k) => m.r32(0x7000 - 20 + k)),
    [CODE + 2, UCODE, 2 | IF, 0x5000, UDATA],
  );
  assert.equal(cpu.getEflags() & IF, 0);

  // SS0 with a limit of 0xfff below ESP0: the first push raises #SS; CS, SS and ESP stay at ring 3.
  const n = machine("protected");
  toRing3(n);
  n.w32(IDT + 0x80 * 8, (KCODE << 16) | 0x9000);
  n.w32(IDT + 0x80 * 8 + 4, 0xee00);
  n.w32(TSS + 4, 0x7000);
  n.w32(TSS + 8, SMALL_KDATA);
  assert.deepEqual(n.step([0xcd, 0x80]), { vector: 12, error: 0 });
  assert.equal(n.cpu.segSel[CS], UCODE);
  assert.equal(n.cpu.segSel[SS], UDATA);
  assert.equal(n.cpu.cpl, 3);
  assert.equal(n.cpu.lo[RSP], 0x5000);
  assert.equal(n.cpu.ip, CODE);
});

test("real mode: INT n through the IVT and IRET back", () => {
  const m = machine("real");
  const cpu = m.cpu;
  m.w32(0x21 * 4, (0x0100 << 16) | 0x0010); // 0100:0010
  cpu.setEflags(2 | IF | CF);
  assert.equal(m.step([0xcd, 0x21]), undefined);
  assert.equal(cpu.segSel[CS], 0x100);
  assert.equal(cpu.segBase[CS], 0x1000);
  assert.equal(cpu.nextIp, 0x10);
  assert.equal(cpu.lo[RSP], 0x5000 - 6);
  assert.equal(cpu.getEflags() & IF, 0);
  assert.equal(m.r32(0x5000 - 6) & 0xffff, CODE + 2);
  // IRET (the handler's bytes need not be at CS:IP: the test runs them at CODE with CS base 0x1000).
  cpu.segBase[CS] = 0;
  assert.equal(m.step([0xcf]), undefined);
  assert.equal(cpu.segSel[CS], 0);
  assert.equal(cpu.nextIp, CODE + 2);
  assert.equal(cpu.getEflags(), 2 | IF | CF);
  assert.equal(cpu.lo[RSP], 0x5000);
});

test("SYSCALL: #UD without EFER.SCE; with it CS/SS from STAR, RCX and R11 saved, RFLAGS masked", () => {
  const m = machine("long");
  const cpu = m.cpu;
  toRing3Long(m);
  assert.deepEqual(m.step([0x0f, 0x05]), { vector: 6, error: 0 });
  cpu.efer |= EFER_SCE;
  cpu.star = (0x18n << 48n) | (0x28n << 32n);
  cpu.lstar = 0x9000;
  cpu.sfmask = IF;
  cpu.setEflags(2 | IF | CF);
  assert.equal(m.step([0x0f, 0x05]), undefined);
  assert.equal(cpu.cpl, 0);
  assert.equal(cpu.segSel[CS], 0x28);
  assert.equal(cpu.segSel[SS], 0x30);
  assert.equal(cpu.codeSize, 8);
  assert.equal(cpu.nextIp, 0x9000);
  assert.equal(cpu.regNumber(RCX), CODE + 2);
  assert.equal(cpu.lo[11], 2 | IF | CF);
  assert.equal(cpu.getEflags(), 2 | CF);
});

/** Puts a long-mode machine at CPL 3 in 64-bit mode. */
function toRing3Long(m: Machine): void {
  m.load(SS, UDATA);
  m.load(CS, UCODE64);
  m.cpu.updateMode();
}

test("SYSRET: #GP(0) at CPL 3 and for a non-canonical RCX; SYSRETQ to 64-bit and SYSRETL to compatibility mode", () => {
  const m = machine("long");
  const cpu = m.cpu;
  cpu.efer |= EFER_SCE;
  cpu.star = 0x18n << 48n;
  cpu.setRegNumber(RCX, 2 ** 47);
  assert.deepEqual(m.step([0x48, 0x0f, 0x07]), { vector: 13, error: 0 });
  cpu.setRegNumber(RCX, -(2 ** 47));
  cpu.lo[11] = 2 | IF;
  assert.equal(m.step([0x48, 0x0f, 0x07]), undefined);
  assert.equal(cpu.segSel[CS], 0x2b);
  assert.equal(cpu.segSel[SS], 0x23);
  assert.equal(cpu.cpl, 3);
  assert.equal(cpu.codeSize, 8);
  assert.equal(cpu.nextIp, -(2 ** 47));
  assert.equal(cpu.getEflags(), 2 | IF);
  assert.deepEqual(m.step([0x48, 0x0f, 0x07]), { vector: 13, error: 0 }, "CPL 3");

  const n = machine("long");
  n.cpu.efer |= EFER_SCE;
  n.cpu.star = 0x18n << 48n;
  n.cpu.setRegNumber(RCX, 0x1_0000_9000);
  assert.equal(n.step([0x0f, 0x07]), undefined);
  assert.equal(n.cpu.segSel[CS], 0x1b);
  assert.equal(n.cpu.codeSize, 4);
  assert.equal(n.cpu.nextIp, 0x9000, "ECX, zero-extended");
});

test("SYSENTER needs a non-null IA32_SYSENTER_CS; SYSEXIT returns to CPL 3 with CS + 16 and SS + 24", () => {
  const m = machine("protected");
  const cpu = m.cpu;
  assert.deepEqual(m.step([0x0f, 0x34]), { vector: 13, error: 0 });
  cpu.sysenterCs = KCODE;
  cpu.sysenterEsp = 0x7000;
  cpu.sysenterEip = 0x9000;
  toRing3(m);
  cpu.setEflags(2 | IF);
  assert.deepEqual(m.step([0x0f, 0x35]), { vector: 13, error: 0 }, "SYSEXIT at CPL 3");
  assert.equal(m.step([0x0f, 0x34]), undefined);
  assert.equal(cpu.segSel[CS], KCODE);
  assert.equal(cpu.segSel[SS], KDATA);
  assert.equal(cpu.lo[RSP], 0x7000);
  assert.equal(cpu.nextIp, 0x9000);
  assert.equal(cpu.getEflags() & IF, 0);
  cpu.lo[RCX] = 0x6000;
  cpu.lo[RDX] = 0x8800;
  assert.equal(m.step([0x0f, 0x35]), undefined);
  assert.equal(cpu.segSel[CS], UCODE);
  assert.equal(cpu.segSel[SS], UDATA);
  assert.equal(cpu.cpl, 3);
  assert.equal(cpu.lo[RSP], 0x6000);
  assert.equal(cpu.nextIp, 0x8800);
});

test("LAR and LSL: ZF and the destination only for descriptors visible at this privilege", () => {
  const m = machine("protected");
  const cpu = m.cpu;
  cpu.lo[RCX] = TSS32;
  assert.equal(m.step([0x0f, 0x03, 0xc1]), undefined); // lsl %ecx, %eax
  assert.equal(cpu.lo[RAX], 0x67);
  assert.equal(cpu.flags.zf(), ZF);
  toRing3(m);
  cpu.lo[RAX] = 0x1234;
  cpu.lo[RCX] = KDATA;
  assert.equal(m.step([0x0f, 0x02, 0xc1]), undefined); // lar %ecx, %eax
  assert.equal(cpu.flags.zf(), 0);
  assert.equal(cpu.lo[RAX], 0x1234, "unchanged when ZF = 0");
  cpu.lo[RCX] = UDATA;
  assert.equal(m.step([0x0f, 0x02, 0xc1]), undefined);
  assert.equal(cpu.flags.zf(), ZF);
  assert.equal(cpu.lo[RAX] >>> 0, 0x00c0f300, "G, D/B; P, DPL 3, S, data read/write accessed; not the limit");
});

test("LTR marks the TSS busy; loading a busy TSS raises #GP(selector); at CPL 3, #GP(0)", () => {
  const m = machine("protected");
  const cpu = m.cpu;
  m.w32(GDT + TSS32 + 4, m.r32(GDT + TSS32 + 4) & ~0x200); // available again
  cpu.lo[RCX] = TSS32;
  assert.equal(m.step([0x0f, 0x00, 0xd9]), undefined); // ltr %cx
  assert.equal((m.r32(GDT + TSS32 + 4) >> 8) & 0xf, 0xb);
  assert.equal(cpu.segAttr[TR]! & 0xf, 0xb);
  assert.deepEqual(m.step([0x0f, 0x00, 0xd9]), { vector: 13, error: TSS32 });
  toRing3(m);
  assert.deepEqual(m.step([0x0f, 0x00, 0xd9]), { vector: 13, error: 0 });
});

test("MOV from DR5 reads DR7 unless CR4.DE (#UD); #GP(0) at CPL 3", () => {
  const m = machine("protected");
  const cpu = m.cpu;
  assert.equal(m.step([0x0f, 0x21, 0xe8]), undefined); // mov %dr5, %eax
  assert.equal(cpu.lo[RAX], 0x400);
  cpu.cr4 |= CR4_DE;
  assert.deepEqual(m.step([0x0f, 0x21, 0xe8]), { vector: 6, error: 0 });
  cpu.cr4 = 0;
  toRing3(m);
  assert.deepEqual(m.step([0x0f, 0x21, 0xc0]), { vector: 13, error: 0 });
});

test("BOUND raises #BR for an index outside the bounds, and nothing inside them", () => {
  const m = machine("protected");
  const cpu = m.cpu;
  m.w32(0x4000, 0);
  m.w32(0x4004, 4);
  cpu.lo[RBX] = 0x4000;
  cpu.lo[RAX] = 5;
  assert.deepEqual(m.step([0x62, 0x03]), { vector: 5, error: 0 }); // bound %eax, (%ebx)
  cpu.lo[RAX] = 4;
  assert.equal(m.step([0x62, 0x03]), undefined);
  cpu.lo[RAX] = -1;
  assert.deepEqual(m.step([0x62, 0x03]), { vector: 5, error: 0 }, "signed comparison");
});

test("long mode: far CALL m16:64 (REX.W FF /3) pushes 8-byte CS and RIP; RETF without REX.W pops 4-byte ones", () => {
  const m = machine("long");
  const cpu = m.cpu;
  m.w32(0x4000, 0x9000);
  m.w32(0x4004, 0);
  m.w32(0x4008, KCODE64);
  cpu.lo[RBX] = 0x4000;
  assert.equal(m.step([0x48, 0xff, 0x1b]), undefined); // rex.w lcall *(%rbx)
  assert.equal(cpu.nextIp, 0x9000);
  assert.equal(cpu.lo[RSP], 0x5000 - 16);
  assert.equal(m.r32(0x5000 - 16), CODE + 3);
  assert.equal(m.r32(0x5000 - 8), KCODE64);
  // A 32-bit far return to compatibility mode at CPL 0.
  frame(m, [0x8100, KCODE]);
  cpu.lo[RSP] = 0x5000;
  assert.equal(m.step([0xcb]), undefined);
  assert.equal(cpu.codeSize, 4);
  assert.equal(cpu.nextIp, 0x8100);
  assert.equal(cpu.lo[RSP], 0x5008);
});

test("long mode: IRETQ pops SS:RSP at the same privilege; to CPL 3 a null SS raises #GP(0)", () => {
  const m = machine("long");
  const cpu = m.cpu;
  const q = (values: number[]) =>
    values.forEach((v, k) => {
      m.w32(0x5000 + k * 8, v);
      m.w32(0x5000 + k * 8 + 4, 0);
    });
  q([0x9000, KCODE64, 2, 0x6000, KDATA]);
  assert.equal(m.step([0x48, 0xcf]), undefined);
  assert.equal(cpu.regNumber(RSP), 0x6000);
  assert.equal(cpu.nextIp, 0x9000);
  cpu.lo[RSP] = 0x5000;
  q([0x9000, UCODE64, 2, 0x6000, 3]);
  assert.deepEqual(m.step([0x48, 0xcf]), { vector: 13, error: 0 });
  assert.equal(cpu.cpl, 0);
  q([0x9000, KCODE64, 2, 0x6000, 0]);
  assert.equal(m.step([0x48, 0xcf]), undefined, "a null SS returning to 64-bit CPL 0");
  assert.ok(cpu.segAttr[SS]! & ATTR_UNUSABLE);
});

test("a far JMP to a conforming segment keeps CPL 3; a far CALL to a TSS ends the run (task switches are not emulated)", () => {
  const m = machine("protected");
  toRing3(m);
  assert.equal(m.step([0xea, 0x00, 0x81, 0x00, 0x00, CONFORMING, 0x00]), undefined);
  assert.equal(m.cpu.segSel[CS], CONFORMING | 3);
  assert.equal(m.cpu.cpl, 3);
  const n = machine("protected");
  assert.throws(() => n.step([0x9a, 0x00, 0x81, 0x00, 0x00, TSS32, 0x00]), /task gates and task switches/);
});

test("real mode: far CALL pushes CS:IP, RETF pops them (CS base = selector << 4)", () => {
  const m = machine("real");
  const cpu = m.cpu;
  assert.equal(m.step([0x9a, 0x34, 0x12, 0x00, 0x02]), undefined); // lcall $0x200, $0x1234
  assert.equal(cpu.segSel[CS], 0x200);
  assert.equal(cpu.segBase[CS], 0x2000);
  assert.equal(cpu.nextIp, 0x1234);
  assert.equal(m.r32(0x5000 - 4), ((0 << 16) | (CODE + 5)) >>> 0);
  cpu.segBase[CS] = 0;
  assert.equal(m.step([0xcb]), undefined);
  assert.equal(cpu.segSel[CS], 0);
  assert.equal(cpu.nextIp, CODE + 5);
  assert.equal(cpu.lo[RSP], 0x5000);
});

test("long mode: a far CALL through a 64-bit call gate from CPL 3 switches to RSP0 and RETFQ returns to CPL 3", () => {
  const m = machine("long");
  const cpu = m.cpu;
  toRing3Long(m);
  m.w32(TSS + 4, 0x7000); // RSP0
  m.w32(TSS + 8, 0);
  m.w32(0x4000, 0); // the offset is ignored through a gate
  m.w32(0x4004, GATE64);
  cpu.lo[RBX] = 0x4000;
  assert.equal(m.step([0xff, 0x1b]), undefined); // lcall *(%rbx), m16:32
  assert.equal(cpu.cpl, 0);
  assert.equal(cpu.segSel[CS], KCODE64);
  assert.equal(cpu.segSel[SS], 0, "a null SS with RPL 0");
  assert.equal(cpu.nextIp, 0x9000);
  assert.equal(cpu.regNumber(RSP), 0x7000 - 32);
  assert.deepEqual(
    [0, 8, 16, 24].map((k) => m.r32(0x7000 - 32 + k)),
    [CODE + 2, UCODE64, 0x5000, UDATA],
  );
  assert.equal(m.step([0x48, 0xcb]), undefined); // lretq
  assert.equal(cpu.cpl, 3);
  assert.equal(cpu.segSel[CS], UCODE64);
  assert.equal(cpu.segSel[SS], UDATA);
  assert.equal(cpu.regNumber(RSP), 0x5000);
  assert.equal(cpu.nextIp, CODE + 2);
});

test("long mode: INT n from CPL 3 aligns RSP0 down to 16 bytes; an IST index takes its stack from the TSS", () => {
  const m = machine("long");
  const cpu = m.cpu;
  toRing3Long(m);
  const gate = (vector: number, ist: number) => {
    m.w32(IDT + vector * 16, (KCODE64 << 16) | 0x9000);
    m.w32(IDT + vector * 16 + 4, 0xee00 | ist);
    m.w32(IDT + vector * 16 + 8, 0);
    m.w32(IDT + vector * 16 + 12, 0);
  };
  gate(0x80, 0);
  gate(0x81, 2);
  m.w32(TSS + 4, 0x7008); // RSP0, not aligned
  m.w32(TSS + 0x24 + 8, 0x7800); // IST2
  cpu.setEflags(2 | IF);
  assert.equal(m.step([0xcd, 0x80]), undefined);
  assert.equal(cpu.regNumber(RSP), 0x7000 - 40);
  assert.equal(cpu.segSel[SS], 0);
  assert.equal(cpu.cpl, 0);
  assert.equal(cpu.getEflags() & IF, 0);
  assert.deepEqual(
    [0, 8, 16, 24, 32].map((k) => m.r32(0x7000 - 40 + k)),
    [CODE + 2, UCODE64, 2 | IF, 0x5000, UDATA],
  );
  // At CPL 0 now: INT 0x81 switches to IST2 even without a privilege change.
  assert.equal(m.step([0xcd, 0x81]), undefined);
  assert.equal(cpu.regNumber(RSP), 0x7800 - 40);
  assert.equal(m.r32(0x7800 - 40 + 24), 0x7000 - 40, "the old RSP");
});

test("LLDT loads the LDT from the GDT (SLDT reads it back); LDT selectors then resolve; a null LLDT makes them fault", () => {
  const m = machine("protected");
  const cpu = m.cpu;
  cpu.lo[RCX] = LDT_SELECTOR;
  assert.equal(m.step([0x0f, 0x00, 0xd1]), undefined); // lldt %cx
  assert.equal(m.step([0x0f, 0x00, 0xc0]), undefined); // sldt %eax
  assert.equal(cpu.lo[RAX], LDT_SELECTOR);
  cpu.lo[RCX] = 0x0f; // LDT index 1, RPL 3
  assert.equal(m.step([0x8e, 0xd9]), undefined); // mov %ecx, %ds
  assert.equal(cpu.segBase[DS], 0x10000);
  assert.equal(m.step([0x0f, 0x00, 0xe1]), undefined); // verr %cx
  assert.equal(cpu.flags.zf(), ZF);
  cpu.lo[RCX] = KDATA;
  assert.deepEqual(m.step([0x0f, 0x00, 0xd1]), { vector: 13, error: KDATA }, "not an LDT descriptor");
  cpu.lo[RCX] = 0;
  assert.equal(m.step([0x0f, 0x00, 0xd1]), undefined);
  cpu.lo[RCX] = 0x0f;
  assert.deepEqual(m.step([0x8e, 0xd9]), { vector: 13, error: 0x0c });
});
