// bench/density: how many idle VMs one tsvmm process holds. Starts VMS machines (one vCPU each, on its own
// worker thread, 16 MiB of RAM, in-kernel irqchip) running guests/bench_idle.S, a Multiboot kernel that
// says "R" on COM1 then idles in `sti; hlt`; reports the process's RSS growth per VM once all are in the
// guest and RSS has settled, and how many VMs were created per second (createMachine + run() until every
// guest has spoken). Then stops and closes them all and checks that every one ended and released its file
// descriptors. The reference is the RSS of one QEMU process (KVM) booting the same file with the same RAM,
// measured before and after tsvmm's run (mean of the two). Both sides use KVM: without it that row prints
// one line saying it was skipped.
//
// The emulator's rows run everywhere, on guests/bench_idle_100hz.S (bench_idle with the PIT at 100 Hz through
// the 8259, a "." every 100 ticks): "density-emu-idle" is the CPU share of one `tsvmm run --accel emu` process
// idling in HLT between ticks (utime + stime from /proc/PID/stat over IDLE_SECONDS, after a settle), against
// QEMU TCG running the same file; the guest's dots show the timer ran at its rate meanwhile. "density-emu"
// is the same count of emulated VMs in one process as the KVM row, RSS growth per VM, against one QEMU TCG
// process's RSS.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { AccelName } from "../src/accel/accelerator.js";
import { createMachine, type Machine, type RunResult } from "../src/vmm/machine.js";
import { buildFlat } from "../test/helpers/build_guest.js";
import { ensureQemu, QEMU, skippedWithoutKvm } from "./references.js";
import { median } from "./stats.js";
import { tsvmmCommand, type VmmCommand } from "./vmm_process.js";

const VMS = Number(process.env.BENCH_DENSITY_VMS ?? 100);
const MEMORY = 16 << 20;
const KERNEL_ADDR = 0x100000;
/** How long a QEMU gets after its guest has spoken before its RSS is read. */
const QEMU_SETTLE_MS = 1500;
/** RSS counts as settled when two reads this far apart differ by less than SETTLE_KB. */
const SETTLE_POLL_MS = 250;
const SETTLE_KB = 256;
const SETTLE_MIN_MS = 1000;
const SETTLE_MAX_MS = 10_000;
const BOOT_TIMEOUT_MS = 60_000;
const MIB = 1024;

/** VmRSS of a process, in KiB. */
function rssKb(pid: number | "self" = "self"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error(`density: no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

/** Polls RSS until it stops growing; returns the last read. */
async function settledRssKb(): Promise<number> {
  const start = Date.now();
  let last = rssKb();
  for (;;) {
    await sleep(SETTLE_POLL_MS);
    const now = rssKb();
    const elapsed = Date.now() - start;
    if ((elapsed >= SETTLE_MIN_MS && Math.abs(now - last) < SETTLE_KB) || elapsed >= SETTLE_MAX_MS) return now;
    last = now;
  }
}

/** Boots the kernel in QEMU, waits for its "R" and a settle time, and returns QEMU's RSS in KiB. */
function qemuRssKb(kernel: string, accel: "kvm" | "tcg" = "kvm"): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = [
      ...["-machine", `accel=${accel}`, "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot"],
      ...["-m", `${MEMORY >> 20}M`, "-kernel", kernel],
    ];
    const child = spawn(QEMU, args, { stdio: ["ignore", "pipe", "pipe"] });
    let errors = "";
    let rss: number | undefined;
    let measuring = false;
    const timer = setTimeout(() => child.kill("SIGKILL"), BOOT_TIMEOUT_MS);
    child.stderr.on("data", (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.stdout.on("data", (chunk: Buffer) => {
      if (measuring || !chunk.includes("R")) return;
      measuring = true;
      setTimeout(() => {
        try {
          if (child.pid !== undefined) rss = rssKb(child.pid);
        } finally {
          child.kill("SIGKILL");
        }
      }, QEMU_SETTLE_MS);
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`density: cannot start ${QEMU}: ${e.message}`));
    });
    child.on("close", () => {
      clearTimeout(timer);
      if (rss !== undefined) resolve(rss);
      else {
        const detail = errors.trim().split("\n").slice(-5).join("\n");
        reject(new Error(`density: QEMU ended before its guest settled${detail ? `:\n${detail}` : ""}`));
      }
    });
  });
}

interface Started {
  machine: Machine;
  /** Resolves when the guest has written to COM1: its vCPU is running guest code. */
  spoke: Promise<void>;
  result: Promise<RunResult>;
}

function start(data: Uint8Array, accel: AccelName = "kvm"): Started {
  let spoke!: () => void;
  const spokePromise = new Promise<void>((resolve) => {
    spoke = resolve;
  });
  const machine = createMachine({
    accel,
    memorySize: MEMORY,
    irqchip: true,
    image: { kind: "kernel", name: "bench_idle", data },
    console: () => spoke(),
  });
  const result = machine.run();
  // A guest that ends before it speaks fails the wait instead of leaving it pending (once it has spoken,
  // settling `ready` again changes nothing).
  const ready = new Promise<void>((resolve, reject) => {
    spokePromise.then(resolve);
    result.then((r) => reject(new Error(`density: a guest ended early: ${r.description.summary}`)), reject);
  });
  return { machine, spoke: ready, result };
}

/** Stops and closes every machine; throws unless each one's vCPU stopped at the host's request. */
async function stopAll(vms: readonly Started[]): Promise<void> {
  for (const vm of vms) vm.machine.stop();
  const results = await Promise.allSettled(vms.map((vm) => vm.result));
  await Promise.all(vms.map((vm) => vm.machine.close()));
  const bad = results.find((r) => r.status === "rejected" || r.value.reason.kind !== "stopped");
  if (bad) {
    const why = bad.status === "rejected" ? String(bad.reason) : bad.value.description.summary;
    throw new Error(`density: a VM did not stop cleanly: ${why}`);
  }
}

async function tsvmmDensity(
  data: Uint8Array,
  accel: AccelName = "kvm",
): Promise<{ kbPerVm: number; vmsPerSecond: number }> {
  // One machine first, so that what the first worker thread loads once (modules, code) is not counted.
  const warm = start(data, accel);
  await warm.spoke;
  await stopAll([warm]);
  const fdsBefore = openFds();
  const before = await settledRssKb();

  const vms: Started[] = [];
  const t0 = performance.now();
  let measured: { kbPerVm: number; vmsPerSecond: number };
  try {
    for (let i = 0; i < VMS; i++) vms.push(start(data, accel));
    await Promise.all(vms.map((vm) => vm.spoke));
    const t1 = performance.now();
    const after = await settledRssKb();
    if (vms.some((vm) => vm.machine.state !== "running")) throw new Error("density: a VM stopped while idle");
    measured = { kbPerVm: (after - before) / VMS, vmsPerSecond: VMS / ((t1 - t0) / 1000) };
  } finally {
    await stopAll(vms);
  }
  const fdsAfter = openFds();
  if (fdsAfter !== fdsBefore) throw new Error(`density: ${fdsAfter - fdsBefore} file descriptors left open`);
  return measured;
}

export async function densityBenchmark(): Promise<void> {
  ensureQemu("density");
  await emulatorIdleRow();
  await emulatorDensityRow();
  if (skippedWithoutKvm("density")) return;
  const kernel = buildFlat("bench_idle.S", KERNEL_ADDR);
  const data = readFileSync(kernel);
  const qemuBefore = await qemuRssKb(kernel);
  const ours = await tsvmmDensity(data);
  const qemuAfter = await qemuRssKb(kernel);
  const qemu = median([qemuBefore, qemuAfter]);
  const perVm = ours.kbPerVm / MIB;
  const q = qemu / MIB;
  console.log(
    `density: ${VMS} VMs, ${perVm.toFixed(1)} MiB per VM, ${ours.vmsPerSecond.toFixed(0)} VMs/s, QEMU ${q.toFixed(1)} MiB per VM, ratio ${(perVm / q).toFixed(3)}`,
  );
}

const IDLE_SETTLE_MS = 1000;
const IDLE_SECONDS = 5;
/** The kernel's USER_HZ: /proc/PID/stat counts CPU time in these. */
const CLOCK_TICKS = 100;

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The fields after the command name (which may hold spaces) start after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * Boots bench_idle_100hz in `vmm`, waits for "R" and IDLE_SETTLE_MS, then measures the process's CPU time
 * over IDLE_SECONDS; returns the share of one core and the guest's dots (one per 100 timer ticks) meanwhile.
 */
function idleShare(vmm: VmmCommand): Promise<{ share: number; dots: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(vmm.command, vmm.args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let errors = "";
    let measuring = false;
    let result: { share: number; dots: number } | undefined;
    const timer = setTimeout(() => child.kill("SIGKILL"), BOOT_TIMEOUT_MS);
    child.stderr.on("data", (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("latin1");
      if (measuring || !output.includes("R")) return;
      measuring = true;
      setTimeout(() => {
        const pid = child.pid as number;
        const cpu0 = cpuSeconds(pid);
        const dots0 = output.split(".").length;
        const t0 = performance.now();
        setTimeout(() => {
          try {
            const seconds = (performance.now() - t0) / 1000;
            result = { share: (cpuSeconds(pid) - cpu0) / seconds, dots: output.split(".").length - dots0 };
          } finally {
            child.kill("SIGKILL");
          }
        }, IDLE_SECONDS * 1000);
      }, IDLE_SETTLE_MS);
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`density: cannot start ${vmm.name}: ${e.message}`));
    });
    child.on("close", () => {
      clearTimeout(timer);
      if (result) resolve(result);
      else {
        const detail = errors.trim().split("\n").slice(-5).join("\n");
        reject(new Error(`density: ${vmm.name} ended before its idle was measured${detail ? `:\n${detail}` : ""}`));
      }
    });
  });
}

/** The CPU share of one idle emulated VM with its timer at 100 Hz, against QEMU TCG on the same file. */
async function emulatorIdleRow(): Promise<void> {
  const kernel = buildFlat("bench_idle_100hz.S", KERNEL_ADDR);
  const mem = `${MEMORY >> 20}M`;
  const ours = await idleShare(
    tsvmmCommand("tsvmm --accel emu", ["run", "--accel", "emu", "--memory", mem, "--kernel", kernel]),
  );
  const qemu = await idleShare({
    name: "QEMU TCG",
    command: QEMU,
    args: [
      ...["-accel", "tcg", "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot"],
      ...["-m", mem, "-kernel", kernel],
    ],
  });
  const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
  console.log(
    `density-emu-idle: idle emulated VM (HLT, PIT at 100 Hz: ${ours.dots} dots of 100 ticks in ${IDLE_SECONDS} s) ${pct(ours.share)} of a core (${ours.share < 0.02 ? "under" : "OVER"} 2%), QEMU TCG ${pct(qemu.share)} (${qemu.dots} dots), ratio ${(ours.share / qemu.share).toFixed(3)}`,
  );
}

/** VMS idle emulated VMs in this process: RSS growth per VM, against one QEMU TCG process. */
async function emulatorDensityRow(): Promise<void> {
  const kernel = buildFlat("bench_idle_100hz.S", KERNEL_ADDR);
  const data = readFileSync(kernel);
  const qemuBefore = await qemuRssKb(kernel, "tcg");
  const ours = await tsvmmDensity(data, "emu");
  const qemuAfter = await qemuRssKb(kernel, "tcg");
  const perVm = ours.kbPerVm / MIB;
  const q = median([qemuBefore, qemuAfter]) / MIB;
  console.log(
    `density-emu: ${VMS} idle emulated VMs (PIT at 100 Hz) in one process, ${perVm.toFixed(1)} MiB per VM, ${ours.vmsPerSecond.toFixed(0)} VMs/s, QEMU TCG ${q.toFixed(1)} MiB per VM, ratio ${(perVm / q).toFixed(3)}`,
  );
}
