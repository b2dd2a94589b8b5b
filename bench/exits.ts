// bench/exits: the cost of one guest exit (port I/O, and MMIO) in tsvmm against a minimal C VMM running
// the same guest with the same KVM_RUN loop, interleaved, medians of several rounds. Both need KVM: without
// it the benchmark prints one line saying it was skipped.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { assembleFlat } from "../src/loader/assemble.js";
import { createMachine } from "../src/vmm/machine.js";
import { buildReference, CACHE, ROOT, skippedWithoutKvm } from "./references.js";
import { median } from "./stats.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);
const LOAD = 0x1000;
const MEMORY = 64 << 10;

function runReference(exe: string, guest: string, workload: string): { exits: number; ns: number } {
  const [exits, ns] = execFileSync(exe, [guest, workload], { encoding: "utf8" }).trim().split(" ").map(Number);
  return { exits: exits as number, ns: ns as number };
}

async function runTsvmm(data: Uint8Array): Promise<{ exits: number; ns: number }> {
  const machine = createMachine({
    accel: "kvm",
    memorySize: MEMORY,
    image: { kind: "flat", name: "bench", data, mode: "real" },
  });
  try {
    const r = await machine.run();
    if (r.reason.kind !== "halt") throw new Error(`bench guest did not halt: ${r.description.summary}`);
    return { exits: r.stats.exits, ns: r.stats.runNs };
  } finally {
    await machine.close();
  }
}

export async function exitsBenchmark(): Promise<void> {
  if (skippedWithoutKvm("exits")) return;
  const exe = buildReference("exits");
  for (const workload of ["io", "mmio"]) {
    const data = assembleFlat(readFileSync(join(ROOT, "guests", `bench_${workload}.S`), "utf8"), LOAD);
    const guest = join(CACHE, `bench_${workload}.bin`);
    writeFileSync(guest, data);
    const ours: number[] = [];
    const theirs: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // Alternate who goes first, and compare each pair: the machine's speed drifts between rounds.
      let c: { exits: number; ns: number };
      let t: { exits: number; ns: number };
      if (i % 2 === 0) {
        c = runReference(exe, guest, workload);
        t = await runTsvmm(data);
      } else {
        t = await runTsvmm(data);
        c = runReference(exe, guest, workload);
      }
      if (c.exits !== t.exits) throw new Error(`exit counts differ: C ${c.exits}, tsvmm ${t.exits}`);
      theirs.push(c.ns / c.exits);
      ours.push(t.ns / t.exits);
      ratios.push(t.ns / t.exits / (c.ns / c.exits));
    }
    console.log(
      `exits-${workload}: tsvmm ${median(ours).toFixed(0)} ns/exit, C ${median(theirs).toFixed(0)} ns/exit, ratio ${median(ratios).toFixed(3)} (median of ${ROUNDS} paired rounds)`,
    );
  }
}
