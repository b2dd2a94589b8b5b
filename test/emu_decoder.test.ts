// The emulator's decoder on known byte sequences (Intel SDM vol. 2, chapter 2 and appendix A): lengths,
// operand and address sizes, ModRM/SIB/displacement/immediates, REX, RIP-relative addressing, prefixes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CS, DS, FS, SS } from "../src/accel/emu/cpu.js";
import { FAULT, GP } from "../src/accel/emu/fault.js";
import { MAP_0F } from "../src/accel/emu/insn.js";
import { invalid, unimplemented } from "../src/accel/emu/opcodes.js";
import { decodeBytes } from "./helpers/emu_cpu.js";

const hex = (s: string) => s.split(" ").map((b) => Number.parseInt(b, 16));
const d64 = (s: string) => decodeBytes(hex(s), 8);
const d32 = (s: string) => decodeBytes(hex(s), 4);
const d16 = (s: string) => decodeBytes(hex(s), 2);

test("64-bit: RIP-relative MOV with REX.W", () => {
  const i = d64("48 8b 05 10 00 00 00"); // mov rax, [rip+0x10]
  assert.equal(i.len, 7);
  assert.equal(i.op, 0x8b);
  assert.equal(i.opsize, 8);
  assert.equal(i.adsize, 8);
  assert.equal(i.mod, 0);
  assert.equal(i.reg, 0);
  assert.equal(i.ripRelative, true);
  assert.equal(i.base, -1);
  assert.equal(i.disp, 0x10);
});

test("64-bit: SIB with REX.B base, disp8, no index; segment follows the base", () => {
  const i = d64("41 8b 44 24 08"); // mov eax, [r12+8]
  assert.equal(i.len, 5);
  assert.equal(i.opsize, 4);
  assert.equal(i.base, 12);
  assert.equal(i.index, -1);
  assert.equal(i.disp, 8);
  assert.equal(i.seg, DS); // r12 is not rSP: DS
  const j = d64("48 8b 44 24 f8"); // mov rax, [rsp-8]
  assert.equal(j.base, 4);
  assert.equal(j.disp, -8);
  assert.equal(j.seg, SS);
});

test("64-bit: SIB with REX.X index, scale 8, no base (disp32)", () => {
  const i = d64("4a 8d 04 c5 00 10 00 00"); // lea rax, [r8*8+0x1000]
  assert.equal(i.len, 8);
  assert.equal(i.op, 0x8d);
  assert.equal(i.opsize, 8);
  assert.equal(i.index, 8);
  assert.equal(i.scale, 3);
  assert.equal(i.base, -1);
  assert.equal(i.disp, 0x1000);
  assert.equal(i.ripRelative, false);
});

test("64-bit: immediates by operand size (imm16 with 66, imm64 with REX.W B8)", () => {
  const a = d64("66 b8 34 12"); // mov ax, 0x1234
  assert.equal(a.len, 4);
  assert.equal(a.opsize, 2);
  assert.equal(a.imm, 0x1234);
  const b = d64("48 b8 88 77 66 55 44 33 22 11"); // mov rax, 0x1122334455667788
  assert.equal(b.len, 10);
  assert.equal(b.opsize, 8);
  assert.equal(b.imm >>> 0, 0x55667788);
  assert.equal(b.immHi, 0x11223344);
  const c = d64("41 b9 ff ff ff ff"); // mov r9d, -1: REX.B in the opcode's register
  assert.equal(c.len, 6);
  assert.equal(c.rm, 8);
  assert.equal(c.imm, -1);
  const e = d64("48 83 c0 ff"); // add rax, -1: imm8 sign-extended
  assert.equal(e.imm, -1);
  assert.equal(e.reg, 0);
  const f = d64("48 81 c0 00 00 00 80"); // add rax, imm32 (sign-extended to 64)
  assert.equal(f.len, 7);
  assert.equal(f.imm, -0x80000000);
});

test("64-bit: address-size prefix, segment override, REP, LOCK", () => {
  const a = d64("67 8b 03"); // mov eax, [ebx]
  assert.equal(a.adsize, 4);
  assert.equal(a.len, 3);
  const b = d64("64 48 8b 04 25 28 00 00 00"); // mov rax, fs:[0x28]
  assert.equal(b.len, 9);
  assert.equal(b.seg, FS);
  assert.equal(b.segOverride, true);
  assert.equal(b.base, -1);
  assert.equal(b.index, -1);
  assert.equal(b.disp, 0x28);
  assert.equal(b.ripRelative, false);
  const c = d64("f3 48 a5"); // rep movsq
  assert.equal(c.rep, 0xf3);
  assert.equal(c.opsize, 8);
  assert.equal(c.len, 3);
  const d = d64("f2 ae"); // repne scasb
  assert.equal(d.rep, 0xf2);
  const e = d64("f0 48 0f b1 0b"); // lock cmpxchg [rbx], rcx
  assert.equal(e.lock, true);
  assert.equal(e.op, MAP_0F + 0xb1);
  assert.notEqual(e.exec, invalid);
  const f = d64("f0 89 c0"); // lock mov eax, eax: not lockable
  assert.equal(f.exec, invalid);
});

test("64-bit: REX makes SPL..DIL addressable and is dropped when a legacy prefix follows it", () => {
  const a = d64("40 88 f0"); // mov al, sil
  assert.equal(a.rex, true);
  assert.equal(a.reg, 6);
  assert.equal(a.rm, 0);
  const b = d64("88 f0"); // mov al, dh
  assert.equal(b.rex, false);
  const c = d64("48 66 89 c0"); // REX.W then 66: REX ignored, mov ax, ax
  assert.equal(c.len, 4);
  assert.equal(c.opsize, 2);
  assert.equal(c.rex, false);
});

test("64-bit: stack operations default to 64 bits; REX.B on 50+r and 0F C8+r", () => {
  const a = d64("50");
  assert.equal(a.opsize, 8);
  assert.equal(a.len, 1);
  const b = d64("41 50"); // push r8
  assert.equal(b.rm, 8);
  const c = d64("66 50"); // push ax
  assert.equal(c.opsize, 2);
  const d = d64("49 0f c9"); // bswap r9
  assert.equal(d.op, MAP_0F + 0xc9);
  assert.equal(d.rm, 8);
  assert.equal(d.opsize, 8);
  assert.equal(d.len, 3);
});

test("64-bit: group opcodes with ModRM.reg and imm8 (shifts, BT), F7 TEST's immediate", () => {
  const a = d64("c1 e0 05"); // shl eax, 5
  assert.equal(a.reg, 4);
  assert.equal(a.rm, 0);
  assert.equal(a.imm, 5);
  assert.equal(a.len, 3);
  const b = d64("0f ba e8 03"); // bts eax, 3
  assert.equal(b.op, MAP_0F + 0xba);
  assert.equal(b.reg, 5);
  assert.equal(b.imm, 3);
  assert.equal(b.len, 4);
  const c = d64("f7 05 78 56 34 12 44 33 22 11"); // test dword [rip+0x12345678], 0x11223344
  assert.equal(c.len, 10);
  assert.equal(c.ripRelative, true);
  assert.equal(c.disp, 0x12345678);
  assert.equal(c.imm, 0x11223344);
  const d = d64("f7 f1"); // div ecx: no immediate
  assert.equal(d.len, 2);
  const e = d64("0f a4 d8 04"); // shld eax, ebx, 4
  assert.equal(e.len, 4);
  assert.equal(e.imm, 4);
  const f = d64("6b c1 fd"); // imul eax, ecx, -3
  assert.equal(f.imm, -3);
  const g = d64("69 c1 00 00 01 00"); // imul eax, ecx, 0x10000
  assert.equal(g.len, 6);
  assert.equal(g.imm, 0x10000);
});

test("64-bit: mod 1 and mod 2 displacements with RBP/R13 bases; SIB index 4 means none", () => {
  const a = d64("8b 45 00"); // mov eax, [rbp+0]
  assert.equal(a.base, 5);
  assert.equal(a.disp, 0);
  assert.equal(a.seg, SS);
  const b = d64("41 8b 85 00 01 00 00"); // mov eax, [r13+0x100]
  assert.equal(b.base, 13);
  assert.equal(b.disp, 0x100);
  assert.equal(b.len, 7);
  const c = d64("8b 04 64"); // mov eax, [rsp+riz*2]: index 100b without REX.X is none
  assert.equal(c.index, -1);
  assert.equal(c.base, 4);
  const d = d64("42 8b 04 60"); // mov eax, [rax+r12*2]: with REX.X it is r12
  assert.equal(d.index, 12);
  assert.equal(d.scale, 1);
});

test("32-bit: addressing forms and the operand-size prefix", () => {
  const a = d32("8b 44 24 04"); // mov eax, [esp+4]
  assert.equal(a.len, 4);
  assert.equal(a.base, 4);
  assert.equal(a.seg, SS);
  assert.equal(a.adsize, 4);
  const b = d32("66 8b 00"); // mov ax, [eax]
  assert.equal(b.opsize, 2);
  const c = d32("8b 05 00 10 00 00"); // mov eax, [0x1000]: absolute, not RIP-relative
  assert.equal(c.len, 6);
  assert.equal(c.ripRelative, false);
  assert.equal(c.base, -1);
  assert.equal(c.disp, 0x1000);
  const d = d32("67 8b 07"); // mov eax, [bx]: 16-bit addressing
  assert.equal(d.adsize, 2);
  assert.equal(d.base, 3);
  assert.equal(d.index, -1);
  const e = d32("40"); // inc eax (no REX outside 64-bit mode)
  assert.equal(e.op, 0x40);
  assert.equal(e.len, 1);
  const f = d32("2e 8b 00"); // mov eax, cs:[eax]
  assert.equal(f.seg, CS);
  const g = d32("50");
  assert.equal(g.opsize, 4);
  assert.equal(g.stackSize, 4);
});

test("16-bit: ModRM addressing table, immediates, far pointers, ENTER", () => {
  const a = d16("8b 42 02"); // mov ax, [bp+si+2]
  assert.equal(a.len, 3);
  assert.equal(a.opsize, 2);
  assert.equal(a.adsize, 2);
  assert.equal(a.base, 5);
  assert.equal(a.index, 6);
  assert.equal(a.seg, SS);
  assert.equal(a.disp, 2);
  const b = d16("8b 1e 34 12"); // mov bx, [0x1234]
  assert.equal(b.len, 4);
  assert.equal(b.base, -1);
  assert.equal(b.disp, 0x1234);
  assert.equal(b.reg, 3);
  const c = d16("8b 46 fe"); // mov ax, [bp-2]
  assert.equal(c.disp, -2);
  const d = d16("66 b8 78 56 34 12"); // mov eax, 0x12345678
  assert.equal(d.len, 6);
  assert.equal(d.opsize, 4);
  assert.equal(d.imm, 0x12345678);
  const e = d16("ea 00 10 00 f0"); // jmp far f000:1000
  assert.equal(e.len, 5);
  assert.equal(e.imm, 0x1000);
  assert.equal(e.imm2, 0xf000);
  const f = d16("c8 10 00 01"); // enter 16, 1
  assert.equal(f.len, 4);
  assert.equal(f.imm, 16);
  assert.equal(f.imm2, 1);
  const g = d16("8b 87 00 80"); // mov ax, [bx+0x8000]: disp16 sign-agnostic
  assert.equal(g.base, 3);
  assert.equal(g.disp & 0xffff, 0x8000);
  const h = d16("a1 34 12"); // mov ax, [0x1234] (moffs16)
  assert.equal(h.len, 3);
  assert.equal(h.disp, 0x1234);
});

test("more than 15 bytes raises #GP(0)", () => {
  const bytes = new Array(15).fill(0x66);
  bytes.push(0x90);
  assert.throws(
    () => decodeBytes(bytes, 4),
    (e) => e === FAULT && FAULT.vector === GP,
  );
  // 14 prefixes and the opcode: 15 bytes, legal.
  assert.equal(decodeBytes([...new Array(14).fill(0x66), 0x90], 4).len, 15);
});

test("handlers: unimplemented opcodes decode to the reporting #UD handler", () => {
  const reserved = d64("0f 36"); // an opcode no family registers (POPCNT, used here before, now exists)
  assert.equal(reserved.exec, unimplemented);
  const add = d64("01 d8");
  assert.notEqual(add.exec, unimplemented);
  const shl = d64("d3 e0");
  assert.notEqual(shl.exec, unimplemented);
});
