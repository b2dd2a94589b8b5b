// Guests for what the emulator adds, each checking its own results and reporting through isa-debug-exit
// (status (value << 1) | 1) and one line on COM1: mode switches made by the guest itself, paging and #PF
// with CR2 and error codes, exceptions and traps in each mode, faults during delivery, ring 3 and what it
// may not do, segment checks, self-modifying code, string instructions, and results and flags against
// hand-computed values. A failed check prints " FAIL" and exits with its own code, listed in the guest's
// header comment.
// Emulator only: they check the emulator against the SDM. Each was also run under QEMU TCG 7.2 (a -bios
// harness recreating tsvmm's entry states; -cpu max for RDTSCP and 1 GiB pages), which passes them all
// except where QEMU itself departs from the SDM: it checks no segment limits, segment types on access or
// null selectors on access, raises #GP instead of #SS for a non-canonical SS-relative access, saves the
// target instead of the jump for a jump to a non-canonical address, leaves EXT clear in an error code
// raised while delivering an exception, scales the IDT index in 64-bit error codes by 16, leaves P clear
// in the error code of a reserved-bit #PF, and raises #UD for INT1. This host's nested KVM runs emu_flags,
// emu_smc, emu_strings, emu_big_real and emu_segment_types as expected and fails the others on its own
// emulation limits (KVM_INTERNAL_ERROR_EMULATION, no 32-bit paging, CR4.TSD ignored), so it is no reference.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildFlat } from "./helpers/build_guest.js";
import { runCli } from "./helpers/run.js";

const LOW = 0x1000;
const HIGH = 0x100000;
/** isa-debug-exit: the process exits with (value << 1) | 1. */
const status = (v: number) => ((v << 1) | 1) & 0xff;

function runEmu(mode: string, file: string, base: number) {
  return runCli(["run", "--accel", "emu", "--mode", mode, buildFlat(file, base)]);
}

test("the guest enters protected mode, 32-bit paging and long mode from real mode by itself, and comes back", () => {
  const r = runEmu("real", "emu_mode_switch.S", LOW);
  assert.equal(r.stdout, "mode switch: real -> protected -> paged -> long -> compat -> protected -> real\n", r.stderr);
  assert.equal(r.status, status(0x30), r.stderr);
});

test("big real mode: limits cached from protected mode reach memory above 1 MiB back in real mode", () => {
  const r = runEmu("real", "emu_big_real.S", LOW);
  assert.equal(r.stdout, "big real: protected16 real unreal ok\n", r.stderr);
  assert.equal(r.status, status(0x39), r.stderr);
});

test("#PF: CR2, error code and RIP for not-present, write-protect, NX and user faults; A/D bits, INVLPG, CR3", () => {
  const r = runEmu("long", "emu_page_faults.S", HIGH);
  assert.equal(
    r.stdout,
    "page faults: np-read np-write wp nx np-fetch user-read user-write a/d invlpg cr3 rsvd split hot 1g ok\n",
    r.stderr,
  );
  assert.equal(r.status, status(0x31), r.stderr);
});

test("32-bit and PAE paging: #PF error codes (not present, write-protect, XD, reserved bit), A/D bits, global pages", () => {
  const r = runEmu("protected", "emu_paging_legacy.S", HIGH);
  assert.equal(
    r.stdout,
    "paging legacy: 32-bit np-read np-write wp a/d a/d global pae nx rsvd np-fetch pdpte a/d ok\n",
    r.stderr,
  );
  assert.equal(r.status, status(0x38), r.stderr);
});

test("exceptions in real mode through the IVT: #DE, #UD, #GP, #SS, #DF", () => {
  const r = runEmu("real", "emu_exceptions_real.S", LOW);
  assert.equal(r.stdout, "exceptions real: #DE #DE #UD #GP #SS #DF ok\n", r.stderr);
  assert.equal(r.status, status(0x32), r.stderr);
});

test("exceptions in 32-bit protected mode: #DE, #UD, #GP, #NP, #SS, #DF with error codes", () => {
  const r = runEmu("protected", "emu_exceptions_32.S", HIGH);
  assert.equal(r.stdout, "exceptions protected: #DE #DE #UD #GP #GP #NP #SS #SS #NP #DF ok\n", r.stderr);
  assert.equal(r.status, status(0x33), r.stderr);
});

test("exceptions in long mode: #DE, #UD, #GP, #NP, #SS, #DF on an IST stack", () => {
  const r = runEmu("long", "emu_exceptions_64.S", HIGH);
  assert.equal(r.stdout, "exceptions long: #DE #DE #UD #GP #GP #NP #SS #SS #NP #GP #DF ok\n", r.stderr);
  assert.equal(r.status, status(0x34), r.stderr);
});

test("ring 3 and back in long mode: IRETQ, an interrupt gate with RSP0, #GP for a DPL-0 gate, SYSCALL/SYSRET", () => {
  const r = runEmu("long", "emu_ring3.S", HIGH);
  assert.equal(r.stdout, "ring 3: iretq int-gate #GP syscall/sysret ok\n", r.stderr);
  assert.equal(r.status, status(0x37), r.stderr);
});

test("self-modifying code: patched immediates and opcodes in hot blocks, writes through an alias, across pages", () => {
  const r = runEmu("long", "emu_smc.S", HIGH);
  assert.equal(r.stdout, "smc: 1 2 3 4 5 6 7 8 ok\n", r.stderr);
  assert.equal(r.status, status(0x35), r.stderr);
});

test("ALU, shift, rotate and multiply results and RFLAGS at 8/16/32/64 bits against hand-computed values", () => {
  const r = runEmu("long", "emu_flags.S", HIGH);
  assert.equal(r.stdout, "flags: 71 cases ok\n", r.stderr);
  assert.equal(r.status, status(0x36), r.stderr);
});

test("BCD adjustments, bit tests and scans, double shifts, CMPXCHG/XADD, SETcc, LAHF/SAHF, DIV in 32-bit mode", () => {
  const r = runEmu("protected", "emu_flags32.S", HIGH);
  assert.equal(r.stdout, "flags32: 51 cases ok\n", r.stderr);
  assert.equal(r.status, status(0x3a), r.stderr);
});

test("traps: INT3, INTO, INT1, BOUND, single-stepping with TF and the MOV SS shadow", () => {
  const r = runEmu("protected", "emu_traps.S", HIGH);
  assert.equal(r.stdout, "traps: int3 into int1 bound step mov-ss ok\n", r.stderr);
  assert.equal(r.status, status(0x3b), r.stderr);
});

test("REP string instructions: restarted after a #PF mid-way, backwards, REPE/REPNE stops, zero count, addr32, overlap", () => {
  const r = runEmu("long", "emu_strings.S", HIGH);
  assert.equal(r.stdout, "strings: movsb stosq cmpsb scasb zero addr32 overlap ok\n", r.stderr);
  assert.equal(r.status, status(0x3c), r.stderr);
});

test("CPL 3: #GP for 25 privileged instructions and a DPL-0 segment, #UD, the TSS I/O bitmap, SMSW/SGDT/POPF, IOPL 3", () => {
  const r = runEmu("long", "emu_cpl3.S", HIGH);
  assert.equal(r.stdout, "cpl3: 26 faults, iomap smsw sgdt popf, iopl3 ok\n", r.stderr);
  assert.equal(r.status, status(0x3d), r.stderr);
});

test("segment descriptors: type checks on load, expand-down and granular limits, null selector, SS RPL, CS limit, accessed bit, a 16-bit gate", () => {
  const r = runEmu("protected", "emu_segments.S", HIGH);
  assert.equal(
    r.stdout,
    "segments: xonly rcode expdown gran null ssrpl cslimit accessed int16 cachedlimit ok\n",
    r.stderr,
  );
  assert.equal(r.status, status(0x3e), r.stderr);
});

test("segment types on access: writes to read-only data and code segments, reads of execute-only code", () => {
  const r = runEmu("protected", "emu_segment_types.S", HIGH);
  assert.equal(r.stdout, "segment types: ro rcode xonly ok\n", r.stderr);
  assert.equal(r.status, status(0x3f), r.stderr);
});

test("stack and miscellaneous corner cases: PUSH/POP ESP, POP m with ESP, PUSHA/POPA, ENTER levels, RET imm, LOOP, CMPXCHG8B", () => {
  const r = runEmu("protected", "emu_stack_misc.S", HIGH);
  assert.equal(r.stdout, "stack misc: 15 cases ok\n", r.stderr);
  assert.equal(r.status, status(0x2f), r.stderr);
});

test("64-bit details: zero extension, REX byte registers, RIP-relative with immediates, moffs64, CMPXCHG16B, FS/GS bases, SWAPGS", () => {
  const r = runEmu("long", "emu_long_misc.S", HIGH);
  assert.equal(r.stdout, "long misc: 13 cases ok\n", r.stderr);
  assert.equal(r.status, status(0x2e), r.stderr);
});

test("faults while delivering: #PF pushing a #UD, #GP or INT frame is delivered serially; #PF pushing a #PF is #DF", () => {
  const r = runEmu("long", "emu_nested_faults.S", HIGH);
  assert.equal(r.stdout, "nested faults: ud gp int pf ok\n", r.stderr);
  assert.equal(r.status, status(0x2d), r.stderr);
});

test("MSRs: the list a kernel touches reads, the writable ones read back, the SDM's #GP cases fault", () => {
  const r = runEmu("long", "emu_msrs.S", HIGH);
  assert.equal(r.stdout, "msrs: read write tsc gp ok\n", r.stderr);
  assert.equal(r.status, status(0x2b), r.stderr);
});
