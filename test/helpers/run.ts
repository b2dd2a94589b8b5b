// Running tsvmm's CLI and machines from tests.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { createMachine, type RunResult } from "../../src/vmm/machine.js";
import type { MachineConfig } from "../../src/vmm/machine_config.js";
import { ROOT } from "./assemble.js";

export const CLI = join(ROOT, "dist", "src", "cli", "main.js");

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    timeout: options.timeoutMs ?? 30_000,
    killSignal: "SIGKILL", // tsvmm ends a guest cleanly on SIGTERM; a timed-out test must not look clean
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** How long a guest may run before a test stops it (its reason then reads "stopped"): none should hang the suite. */
const GUEST_TIMEOUT_MS = 30_000;

/** Runs a machine to its end and returns the result and everything it printed on the console. */
export async function runMachine(
  config: MachineConfig,
  during?: (m: ReturnType<typeof createMachine>) => void,
): Promise<RunResult & { output: string }> {
  const chunks: Buffer[] = [];
  const machine = createMachine({ ...config, console: (b) => chunks.push(Buffer.from(b)) });
  const guard = setTimeout(() => machine.stop(), GUEST_TIMEOUT_MS);
  try {
    const running = machine.run();
    during?.(machine);
    const result = await running;
    return { ...result, output: Buffer.concat(chunks).toString("latin1") };
  } finally {
    clearTimeout(guard);
    await machine.close();
  }
}
