// bench/emu: guest instructions per second on a compute-bound Multiboot guest (guests/bench_compute.S: loads,
// stores, ALU operations and branches in a loop whose iteration count is its command line), tsvmm's emulator
// (`tsvmm run --accel emu --kernel FILE --append N`) against QEMU's TCG (`qemu-system-x86_64 -accel tcg -kernel
// FILE -append N`) running the same file. Start-up is subtracted for both through runs of the same guest with
// one iteration: MIPS = (instructions(N) - instructions(1)) / (median time(N) - median time(1)), times from
// spawn to exit. The instruction count comes from the guest's structure (see its header), and the guest checks
// its result; both VMMs must print the same result line. Runs are interleaved, each round alternating who goes
// first. BENCH_EMU_INSNS sets the instructions per measured run (default 10^9), BENCH_EMU_ROUNDS the rounds.
import { buildElf } from "../test/helpers/build_guest.js";
import { ensureQemu, QEMU } from "./references.js";
import { median } from "./stats.js";
import { type RunExpectation, runVmm, tsvmmCommand, type VmmCommand } from "./vmm_process.js";

const INSNS = Number(process.env.BENCH_EMU_INSNS ?? 1e9);
const ROUNDS = Number(process.env.BENCH_EMU_ROUNDS ?? 3);
/** Instructions per iteration of the guest's loop, and per digit of its command line (its header). */
const LOOP_INSNS = 13;
const PARSE_INSNS_PER_DIGIT = 10;
const RESULT_LINE = /^result: [0-9a-f]{8} [0-9a-f]{8} ([0-9a-f]{8})\nok\n$/;

/** Guest instructions a run with `n` iterations executes beyond a run with 1. */
function extraInstructions(n: number): number {
  return LOOP_INSNS * (n - 1) + PARSE_INSNS_PER_DIGIT * (String(n).length - 1);
}

/** Runs `vmm` with `n` iterations; returns the milliseconds to its exit and its result line. */
async function timed(vmm: (n: number) => VmmCommand, n: number, expect: RunExpectation) {
  const command = vmm(n);
  const run = await runVmm(command, expect);
  const m = RESULT_LINE.exec(run.output);
  if (!m || Number.parseInt(m[1] as string, 16) !== n % 2 ** 32)
    throw new Error(`emu: ${command.name} with ${n} iterations printed ${JSON.stringify(run.output)}`);
  return { ms: run.exitMs, result: run.output };
}

export async function emuBenchmark(): Promise<void> {
  ensureQemu("emu");
  const kernel = buildElf("bench_compute.S", "multiboot_kernel.ld", "elf32");
  const n = Math.max(2, Math.round(INSNS / LOOP_INSNS));
  const insns = extraInstructions(n);
  const tsvmm = (k: number) => tsvmmCommand("tsvmm", ["run", "--accel", "emu", "--kernel", kernel, "--append", `${k}`]);
  const qemu = (k: number): VmmCommand => ({
    name: "qemu-tcg",
    command: QEMU,
    args: [
      ...["-accel", "tcg", "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot"],
      ...["-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", kernel, "-append", `${k}`],
    ],
  });
  // The guest writes 0x21 to isa-debug-exit once its check passed. An emulator at 1 MIPS still finishes.
  const expect: RunExpectation = {
    status: (0x21 << 1) | 1,
    outputPrefix: "result:",
    timeoutMs: 1000 * 1000,
    who: "emu",
  };
  const sides = [
    { vmm: tsvmm, one: [] as number[], many: [] as number[], results: new Set<string>() },
    { vmm: qemu, one: [] as number[], many: [] as number[], results: new Set<string>() },
  ];
  for (let i = 0; i < ROUNDS; i++) {
    for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
      side.one.push((await timed(side.vmm, 1, expect)).ms);
      const many = await timed(side.vmm, n, expect);
      side.many.push(many.ms);
      side.results.add(many.result);
    }
  }
  const results = new Set(sides.flatMap((s) => [...s.results]));
  if (results.size !== 1) throw new Error(`emu: the runs disagree on the result: ${JSON.stringify([...results])}`);
  const mips = sides.map((s) => {
    const ms = median(s.many) - median(s.one);
    if (ms <= 0) throw new Error("emu: the measured runs took no longer than start-up; raise BENCH_EMU_INSNS");
    return insns / (ms * 1000);
  });
  const [x, y] = mips as [number, number];
  const startup = sides.map((s) => median(s.one).toFixed(0));
  console.log(
    `emu: tsvmm ${x.toFixed(1)} MIPS, qemu-tcg ${y.toFixed(1)} MIPS, ratio ${(y / x).toFixed(2)} (${insns.toExponential(3)} guest instructions per run, ${LOOP_INSNS} x ${n} iterations, start-up ${startup[0]} / ${startup[1]} ms subtracted, medians of ${ROUNDS} interleaved rounds)`,
  );
}
