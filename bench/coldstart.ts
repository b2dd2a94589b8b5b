// bench/coldstart: from process start to the first serial byte of a Multiboot kernel (guests/multiboot_kernel.S),
// tsvmm (`tsvmm run --kernel FILE`) against QEMU (`qemu-system-x86_64 -kernel FILE`, KVM) booting the same file,
// interleaved, medians of several rounds. Each process runs to its end (the kernel exits through
// isa-debug-exit), so one never overlaps the next.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { buildElf, ROOT } from "../test/helpers/build_guest.js";
import { ensureQemu, QEMU } from "./references.js";
import { median } from "./stats.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
/** The kernel writes 0x21 to isa-debug-exit: both VMMs then exit with status (0x21 << 1) | 1. */
const KERNEL_STATUS = (0x21 << 1) | 1;
/** The kernel's first line (see the header of guests/multiboot_kernel.S). */
const FIRST_LINE_PREFIX = "cmdline:";
const TIMEOUT_MS = 120_000;

interface Vmm {
  name: string;
  command: string;
  args: string[];
}

/** Spawns `vmm` and resolves with the milliseconds from spawn to its first stdout byte, once it has exited. */
function firstByteMs(vmm: Vmm): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(vmm.command, vmm.args, { stdio: ["ignore", "pipe", "pipe"] });
    let first: bigint | undefined;
    let output = "";
    let errors = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    child.stdout.on("data", (chunk: Buffer) => {
      first ??= process.hrtime.bigint();
      output += chunk.toString("latin1");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`coldstart: cannot start ${vmm.name}: ${e.message}`));
    });
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      const problem =
        status !== KERNEL_STATUS
          ? `ended with ${status === null ? `signal ${signal}` : `status ${status}`}, not ${KERNEL_STATUS}`
          : !output.startsWith(FIRST_LINE_PREFIX)
            ? `printed ${JSON.stringify(output.slice(0, 40))} first, not "${FIRST_LINE_PREFIX}..."`
            : undefined;
      if (problem !== undefined || first === undefined) {
        const detail = errors.trim().split("\n").slice(-5).join("\n");
        reject(new Error(`coldstart: ${vmm.name} ${problem ?? "printed nothing"}${detail ? `:\n${detail}` : ""}`));
        return;
      }
      resolve(Number(first - start) / 1e6);
    });
  });
}

export async function coldstartBenchmark(): Promise<void> {
  ensureQemu("coldstart");
  const kernel = buildElf("multiboot_kernel.S", "multiboot_kernel.ld", "elf32");
  const tsvmm: Vmm = {
    name: "tsvmm",
    command: process.execPath,
    args: [join(ROOT, "dist", "src", "cli", "main.js"), "run", "--kernel", kernel],
  };
  const qemu: Vmm = {
    name: "qemu",
    command: QEMU,
    args: [
      ...["-machine", "accel=kvm", "-nodefaults", "-display", "none", "-serial", "stdio"],
      ...["-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", kernel],
    ],
  };
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate who goes first, so neither always runs with the other's freshly warmed caches.
    if (i % 2 === 0) {
      ours.push(await firstByteMs(tsvmm));
      theirs.push(await firstByteMs(qemu));
    } else {
      theirs.push(await firstByteMs(qemu));
      ours.push(await firstByteMs(tsvmm));
    }
  }
  const t = median(ours);
  const q = median(theirs);
  console.log(`coldstart: tsvmm ${t.toFixed(1)} ms, qemu ${q.toFixed(1)} ms, ratio ${(t / q).toFixed(3)}`);
}
