// Running tsvmm's CLI and machines from tests.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { createMachine, type MachineConfig, type RunResult } from "../../src/vmm/machine.js";
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

/** Runs a machine to its end and returns the result and everything it printed on the console. */
export async function runMachine(
  config: MachineConfig,
  during?: (m: ReturnType<typeof createMachine>) => void,
): Promise<RunResult & { output: string }> {
  const chunks: Buffer[] = [];
  const machine = createMachine({ ...config, console: (b) => chunks.push(Buffer.from(b)) });
  try {
    const running = machine.run();
    during?.(machine);
    const result = await running;
    return { ...result, output: Buffer.concat(chunks).toString("latin1") };
  } finally {
    await machine.close();
  }
}
