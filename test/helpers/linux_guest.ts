// Debian's cloud kernel and the test initramfs (scripts/fetch-guest-kernel.sh, cached under .cache/linux/),
// the command line their /init (guests/linux/init.sh) checks, and running tsvmm on them.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./assemble.js";
import { CLI } from "./run.js";

export const LINUX_CACHE = join(ROOT, ".cache", "linux");
export const LINUX_IMAGES = { bzimage: join(LINUX_CACHE, "vmlinuz"), pvh: join(LINUX_CACHE, "vmlinux") } as const;
export const LINUX_INITRD = join(LINUX_CACHE, "initramfs.cpio.gz");
/** Guest RAM for the Linux tests. */
export const LINUX_MEMORY_MIB = 256;
/** The /init's marker once every check passed. */
export const INIT_OK = "TSVMM-INIT-OK";

/** Fetches and builds the guest when any file is missing; a reason when that failed. */
export function ensureLinuxGuest(): string | undefined {
  if ([...Object.values(LINUX_IMAGES), LINUX_INITRD].every((f) => existsSync(f))) return undefined;
  const r = spawnSync(join(ROOT, "scripts", "fetch-guest-kernel.sh"), { encoding: "utf8", stdio: "pipe" });
  return r.status === 0 ? undefined : `scripts/fetch-guest-kernel.sh failed: ${r.stderr.trim().split("\n").at(-1)}`;
}

/**
 * A nested KVM of the PVM kind (kvm_pvm) runs the guest's ring-0 code through KVM's instruction emulator,
 * which lacks CMPXCHG16B, XRSTOR, POPCNT and the SMAP instructions: the kernel is told not to use them.
 */
export function kvmHostQuirks(): { cpu: string[]; cmdline: string[] } {
  if (!existsSync("/sys/module/kvm_pvm")) return { cpu: [], cmdline: [] };
  return { cpu: ["--cpu", "baseline"], cmdline: ["noxsave", "clearcpuid=smap,smep"] };
}

/** The command line: `words`, then tsvmm.sum= the MD5 of everything before it, which /init compares. */
export function checkedCmdline(words: string[]): string {
  const body = words.join(" ");
  return `${body} tsvmm.sum=${createHash("md5").update(body, "latin1").digest("hex")}`;
}

export interface LinuxRun {
  status: number | null;
  output: string;
  stderr: string;
  /** Milliseconds from spawning tsvmm to the /init marker on the console, and to its exit. */
  toMarkerMs?: number;
  toExitMs: number;
}

/**
 * Runs the tsvmm CLI with `args` and resolves when it exits. `onOutput` sees the console so far (to stop
 * the run, as after a second boot). A test never hangs: the process is killed after `timeoutMs`.
 */
export function runLinux(
  args: string[],
  timeoutMs: number,
  onOutput?: (output: string, child: ReturnType<typeof spawn>) => void,
): Promise<LinuxRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let stderr = "";
  let toMarkerMs: number | undefined;
  child.stdout.setEncoding("latin1").on("data", (chunk: string) => {
    output += chunk;
    if (toMarkerMs === undefined && output.includes(INIT_OK)) toMarkerMs = performance.now() - started;
    onOutput?.(output, child);
  });
  child.stderr.setEncoding("latin1").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const guard = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) => {
    child.on("close", (status) => {
      clearTimeout(guard);
      const toExitMs = performance.now() - started;
      resolve({ status, output, stderr, toExitMs, ...(toMarkerMs !== undefined && { toMarkerMs }) });
    });
  });
}

/** Where the emulator stops for want of a feature other issues bring, or undefined. */
export function emulatorGap(r: LinuxRun): string | undefined {
  const unimplemented = r.stderr.split("\n").find((l) => l.includes("the emulator does not implement"));
  if (unimplemented) return unimplemented.trim();
  if (r.output.includes("no FPU found")) return "Linux finds no FPU (x87/SSE are not emulated yet) and cannot go on";
  return undefined;
}

export function linuxArgs(
  accel: string,
  image: string,
  cpus: number,
  extra: string[],
): { args: string[]; cmdline: string } {
  const quirks = accel === "kvm" ? kvmHostQuirks() : { cpu: [], cmdline: [] };
  const cmdline = checkedCmdline([
    "console=ttyS0",
    "panic=-1",
    ...quirks.cmdline,
    ...extra,
    `tsvmm.cpus=${cpus}`,
    `tsvmm.mem=${LINUX_MEMORY_MIB}`,
  ]);
  const args = ["run", "--accel", accel, ...quirks.cpu, "--cpus", String(cpus), "--memory", `${LINUX_MEMORY_MIB}M`];
  args.push("--kernel", image, "--initrd", LINUX_INITRD, "--append", cmdline);
  return { args, cmdline };
}
