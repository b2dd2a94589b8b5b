// npm run bench [-- NAME...]: runs every benchmark, or the named ones. Each prints one line per workload,
// "NAME: figures..., ratio R", R being tsvmm's cost over the reference's measured in the same run.
import { coldstartBenchmark } from "./coldstart.js";
import { densityBenchmark } from "./density.js";
import { emuBenchmark } from "./emu.js";
import { exitsBenchmark } from "./exits.js";
import { irqBenchmark } from "./irq.js";

const BENCHMARKS: Record<string, () => Promise<void>> = {
  exits: exitsBenchmark,
  coldstart: coldstartBenchmark,
  irq: irqBenchmark,
  density: densityBenchmark,
  emu: emuBenchmark,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((n) => !(n in BENCHMARKS));
if (unknown.length > 0) {
  process.stderr.write(
    `bench: unknown benchmark ${unknown.join(", ")} (have: ${Object.keys(BENCHMARKS).join(", ")})\n`,
  );
  process.exit(2);
}
// A benchmark that fails says so in one line (details on stderr) and the others still run; the exit status
// is then 1. One whose reference needs KVM prints "NAME: skipped (needs /dev/kvm)" where KVM is absent.
let failed = 0;
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHMARKS)) {
  try {
    await BENCHMARKS[name]?.();
  } catch (e) {
    failed++;
    const message = e instanceof Error ? e.message : String(e);
    console.log(`${name}: failed: ${message.split("\n")[0]}`);
    process.stderr.write(`${e instanceof Error && e.stack ? e.stack : message}\n`);
  }
}
if (failed > 0) process.exitCode = 1;
