// A 64-bit static userland's floating-point and string code, compiled by gcc from C (guests/c/fp_string.c,
// freestanding: no libc, no libgcc) and run as a flat binary with `--mode long` on every accelerator: double
// and float through SSE2 (sqrtsd, divisions, int<->double conversions, comparisons with NaN, Newton and
// Horner), long double through the x87 (fadd/fmul/fdiv, fcomi/fucomi, fild/fistp, fabs, fsqrt), loops GCC
// vectorises (paddd, mulps/addps, cvtdq2pd/sqrtpd), and its own memcpy/memmove/memset/memcmp/strlen/strchr
// with struct copies (SSE moves at -O2, rep movsl/stosl at -Os). Each check compares with a constant computed
// on the host; the guest prints "fp_string: ok" and exits with 0x45, or prints the failing check and exits
// with its number.
//
// main runs at CPL 3 (guests/c/start64.S drops there with SYSRETQ; its OUTs trap to a #GP handler at CPL 0). On
// this machine's nested KVM (kvm-pvm) only user code runs on the CPU, ring 0 going through KVM's instruction
// emulator, which cannot emulate SSE loads: at CPL 0 the guest stopped at its first movsd from memory
// (KVM_INTERNAL_ERROR_EMULATION). At CPL 3 it runs there natively and passes, so KVM is a reference here.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildCGuest } from "./helpers/build_c_guest.js";
import { accelerators } from "./helpers/kvm.js";
import { runCli } from "./helpers/run.js";

/** isa-debug-exit: the process exits with (value << 1) | 1. */
const status = (v: number) => ((v << 1) | 1) & 0xff;

for (const accel of accelerators()) {
  test(`C guest fp_string at CPL 3: SSE2, x87, vectorised loops and string code compiled by gcc [${accel}]`, () => {
    const r = runCli(["run", "--accel", accel, "--mode", "long", buildCGuest("fp_string.c")], { timeoutMs: 60_000 });
    assert.equal(r.stdout, "fp_string: ok\n", r.stderr);
    assert.equal(r.status, status(0x45), r.stderr);
  });
}
