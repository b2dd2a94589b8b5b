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
/** What Linux prints before halting for good on a CPU without x87. */
const NO_FPU = "no FPU found";
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

const PVM_MODULE = "/sys/module/kvm_pvm";

/**
 * A nested KVM of the PVM kind (kvm_pvm) runs the guest's ring-0 code through KVM's instruction emulator,
 * which lacks CMPXCHG16B, XRSTOR, POPCNT, the SMAP instructions and more: the kernel is told not to use them
 * (tsvmm itself performs INT3 and FWAIT there), and quiet, since every console byte is a costly exit.
 */
export function kvmHostQuirks(): { cpu: string[]; cmdline: string[] } {
  if (!existsSync(PVM_MODULE)) return { cpu: [], cmdline: [] };
  const clear = "smap,smep,popcnt,fsgsbase,rdrand,rdseed,pcid,invpcid,rdpid,umip,pku";
  return { cpu: ["--cpu", "baseline"], cmdline: ["quiet", "noxsave", `clearcpuid=${clear}`, "mitigations=off"] };
}

/**
 * Why Linux does not boot on this host's KVM in a test's time, or undefined: on a nested PVM KVM a boot takes
 * tens of minutes (all ring-0 code is emulated by KVM), so there it runs only when TSVMM_LINUX_ON_PVM=1.
 */
export function kvmLinuxSkipReason(): string | undefined {
  if (!existsSync(PVM_MODULE) || process.env.TSVMM_LINUX_ON_PVM === "1") return undefined;
  return "this host's KVM is a nested PVM one that emulates the guest's ring-0 code: a Linux boot takes tens of minutes (TSVMM_LINUX_ON_PVM=1 runs it)";
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
    // Linux halts for good after this line (arch/x86/kernel/fpu/init.c): no use waiting for the timeout.
    if (output.includes(NO_FPU)) child.kill("SIGTERM");
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
