// Privilege and mode changes the guest makes itself on tsvmm's emulator, checked in the guest (each step
// compares CS & 3, selectors and stack pointers, and reports a failed check by number):
// - 32-bit protected mode: ring 0 -> 3 with IRET, INT 0x80 through a DPL-3 gate onto the TSS's stack and IRET
//   back, SYSENTER/SYSEXIT, #GP at CPL 3, a call gate with a parameter and RETF imm16, RETF to an outer
//   privilege nulling DS, far JMP/CALL/RETF, LTR/STR, LAR/LSL/VERR/VERW;
// - long mode: IRETQ to ring 3, INT 0x80 with RSP0, SYSCALL/SYSRETQ, #GP on an IST stack, SYSRETL to
//   compatibility mode and IRETQ back to 64-bit mode, RETFQ to ring 3, far CALL m16:64 and m16:32, DR0/DR6;
// - real mode: far CALL/JMP/RETF, INT n through the IVT with IRET, INT3, INTO, BOUND's #BR as a fault, and
//   protected mode entered and left by far jumps.
// Emulator only: this host's nested KVM does not run these guests faithfully (KVM_INTERNAL_ERROR_EMULATION
// on LAR and on IRET with paging off, and on BOUND in real mode; in long mode ring 3 reads CS = 0x33,
// SS = 0x2b where its own register dump shows 0x2b, 0x23), so it cannot be the reference for them here.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildFlat } from "./helpers/build_guest.js";
import { runCli } from "./helpers/run.js";

const HIGH = 0x100000;
/** isa-debug-exit: the process exits with (value << 1) | 1. */
const status = (v: number) => ((v << 1) | 1) & 0xff;

test("32-bit protected mode: ring 3 and back through IRET, INT 0x80, SYSENTER/SYSEXIT, #GP, a call gate, RETF", () => {
  const r = runCli(["run", "--accel", "emu", "--mode", "protected", buildFlat("emu_ring3_32.S", HIGH)]);
  assert.equal(r.stdout, "ring3_32: ok\n", r.stderr);
  assert.equal(r.status, status(0x10), r.stderr);
});

test("long mode: ring 3 and back through IRETQ, INT 0x80, SYSCALL/SYSRET (64-bit and compatibility), IST, RETFQ", () => {
  const r = runCli(["run", "--accel", "emu", "--mode", "long", buildFlat("emu_ring3_64.S", HIGH)]);
  assert.equal(r.stdout, "ring3_64: ok\n", r.stderr);
  assert.equal(r.status, status(0x10), r.stderr);
});

test("real mode: far transfers, INT n and IRET through the IVT, INT3, INTO, #BR, to protected mode and back", () => {
  const r = runCli(["run", "--accel", "emu", "--mode", "real", buildFlat("emu_far_real.S", 0x1000)]);
  assert.equal(r.stdout, "real: ok\n", r.stderr);
  assert.equal(r.status, status(0x10), r.stderr);
});
