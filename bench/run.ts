// npm run bench [-- NAME...]: runs every benchmark, or the named ones. Each prints one line per workload,
// "NAME: figures..., ratio R", R being tsvmm's cost over the reference's measured in the same run.
import { coldstartBenchmark } from "./coldstart.js";
import { densityBenchmark } from "./density.js";
import { exitsBenchmark } from "./exits.js";
import { irqBenchmark } from "./irq.js";

const BENCHMARKS: Record<string, () => Promise<void>> = {
  exits: exitsBenchmark,
  coldstart: coldstartBenchmark,
  irq: irqBenchmark,
  density: densityBenchmark,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((n) => !(n in BENCHMARKS));
if (unknown.length > 0) {
  process.stderr.write(
    `bench: unknown benchmark ${unknown.join(", ")} (have: ${Object.keys(BENCHMARKS).join(", ")})\n`,
  );
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHMARKS)) {
  await BENCHMARKS[name]?.();
}
