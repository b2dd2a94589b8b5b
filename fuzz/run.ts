// `npm run fuzz -- cpu [--cases N] [--seed S] [--modes 16,32,64] [--quiet]`: tsvmm's emulator against unicorn
// (QEMU's TCG CPU as a library) on random integer instruction sequences; prints `cpu: N cases, M mismatches`
// per reference and mode, and the cases per second. Mismatches are minimised and printed as regression
// entries for test/emu_fuzz_regressions.test.ts.
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { fuzzMode } from "./cpu_fuzz.js";
import { generate, Rng } from "./generator.js";
import { type Mode, unicornUnavailable } from "./unicorn.js";

function main(argv: string[]): number {
  const what = argv[0] ?? "cpu";
  const opt = (name: string) => {
    const k = argv.indexOf(name);
    return k >= 0 ? argv[k + 1] : undefined;
  };
  if (what !== "cpu") {
    console.error(`fuzz: unknown target ${JSON.stringify(what)} (the targets: cpu)`);
    return 2;
  }
  const total = Number(opt("--cases") ?? 1_000_002);
  const seed = Number(opt("--seed") ?? Date.now() % 0x7fffffff);
  const modes = (opt("--modes") ?? "16,32,64").split(",").map((m) => Number(m) as Mode);
  const quiet = argv.includes("--quiet");
  const why = unicornUnavailable();
  if (why) {
    console.error(`fuzz: ${why}`);
    return 1;
  }
  const jobs = Number(opt("--jobs") ?? Math.min(availableParallelism(), modes.length));
  if (jobs > 1 && modes.length > 1) return parallel(argv, modes, total, seed);
  console.log(`cpu: seed ${seed}, ${total} cases over modes ${modes.join(", ")}`);
  let mismatches = 0;
  let cases = 0;
  let seconds = 0;
  for (const mode of modes) {
    const r = fuzzMode(
      mode,
      Math.ceil(total / modes.length),
      seed + mode,
      generate,
      Rng,
      quiet ? undefined : console.log,
    );
    mismatches += r.mismatches;
    cases += r.cases;
    const reasons = [...r.skipReasons].sort((a, b) => b[1] - a[1]).map(([why, n]) => `${why}: ${n}`);
    console.log(`cpu: unicorn ${mode}-bit not comparable: ${reasons.join("; ")}`);
    seconds += r.seconds;
    console.log(
      `cpu: unicorn ${mode}-bit: ${r.cases} cases, ${r.mismatches} mismatches (${r.compared} compared, ${r.skipped} not comparable), ${Math.round(r.cases / r.seconds)} cases/s`,
    );
  }
  console.log(`cpu: unicorn total: ${cases} cases, ${mismatches} mismatches, ${Math.round(cases / seconds)} cases/s`);
  return mismatches === 0 ? 0 : 1;
}

/** One child process per mode (all at once: the OS shares the CPUs); their reports summed. */
function parallel(argv: string[], modes: Mode[], total: number, seed: number): number {
  console.log(`cpu: seed ${seed}, ${total} cases over modes ${modes.join(", ")}, one process per mode`);
  const per = Math.ceil(total / modes.length);
  const t0 = performance.now();
  let done = 0;
  let cases = 0;
  let mismatches = 0;
  const quiet = argv.includes("--quiet") ? ["--quiet"] : [];
  for (const mode of modes) {
    const args = [
      "cpu",
      "--modes",
      String(mode),
      "--cases",
      String(per),
      "--seed",
      String(seed),
      "--jobs",
      "1",
      ...quiet,
    ];
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.on("close", () => {
      for (const line of out.split("\n")) {
        if (line.startsWith("cpu: seed") || line.startsWith("cpu: unicorn total")) continue;
        console.log(line);
        const m = /^cpu: unicorn \d+-bit: (\d+) cases, (\d+) mismatches/.exec(line);
        if (m) {
          cases += Number(m[1]);
          mismatches += Number(m[2]);
        }
      }
      if (++done === modes.length) {
        const s = (performance.now() - t0) / 1000;
        console.log(
          `cpu: unicorn total: ${cases} cases, ${mismatches} mismatches, ${Math.round(cases / s)} cases/s (wall clock)`,
        );
        process.exitCode = mismatches === 0 ? 0 : 1;
      }
    });
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
