// A 64-bit static userland's floating-point and string code, compiled by gcc from C (guests/c/fp_string.c,
// freestanding: no libc, no libgcc) and run as a flat binary with `--mode long` on every accelerator: double
// and float through SSE2 (sqrtsd, divisions, int<->double conversions, comparisons with NaN, Newton and
// Horner), long double through the x87 (fadd/fmul/fdiv, fcomi/fucomi, fild/fistp, fabs, fsqrt), loops GCC
// vectorises (paddd, mulps/addps, cvtdq2pd/sqrtpd), and its own memcpy/memmove/memset/memcmp/strlen/strchr
// with struct copies (SSE moves at -O2, rep movsl/stosl at -Os). Each check compares with a constant computed
// on the host; the guest prints "fp_string: ok" and exits with 0x45, or prints the failing check and exits
// with its number.
//
// On this machine's nested KVM (kvm-pvm) the guest's ring-0 code goes through KVM's instruction emulator,
// which cannot emulate SSE loads (its first, movsd from memory, ends in KVM_INTERNAL_ERROR_EMULATION), so there
// the KVM case skips naming the instruction; on a KVM that runs the guest natively it must pass.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildCGuest } from "./helpers/build_c_guest.js";
import { accelerators } from "./helpers/kvm.js";
import { runCli } from "./helpers/run.js";

/** isa-debug-exit: the process exits with (value << 1) | 1. */
const status = (v: number) => ((v << 1) | 1) & 0xff;

/** The instruction a KVM that emulates the guest's code could not emulate, from tsvmm's report, if that is why it stopped. */
function kvmEmulationGap(stderr: string): string | undefined {
  if (!stderr.includes("KVM_INTERNAL_ERROR_EMULATION")) return undefined;
  // tsvmm's report ends with the instruction: "  at 0018:10005e  gpa 0x10005e: f2 0f 10 05 ..  movsd 0x103290,%xmm0"
  const [, bytes, insn] = /^\s*at \S+\s+gpa \S+ ([0-9a-f ]+?)\s{2,}(.+)$/m.exec(stderr) ?? [];
  return insn && bytes ? `${insn.trim()} (${bytes})` : "an instruction (see tsvmm's report)";
}

for (const accel of accelerators()) {
  test(`C guest fp_string: SSE2, x87, vectorised loops and string code compiled by gcc [${accel}]`, (t) => {
    const r = runCli(["run", "--accel", accel, "--mode", "long", buildCGuest("fp_string.c")], { timeoutMs: 60_000 });
    if (accel === "kvm") {
      const gap = kvmEmulationGap(r.stderr);
      if (gap) return t.skip(`this host's nested KVM emulates ring-0 code and cannot emulate ${gap}`);
    }
    assert.equal(r.stdout, "fp_string: ok\n", r.stderr);
    assert.equal(r.status, status(0x45), r.stderr);
  });
}
