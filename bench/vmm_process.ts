// One VMM process run to its end: tsvmm's CLI or QEMU booting a guest that exits through isa-debug-exit.
// The benchmarks that time whole processes (coldstart, emu) share it.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./references.js";

export interface VmmCommand {
  /** Names the VMM in messages. */
  name: string;
  command: string;
  args: string[];
}

export interface VmmRun {
  /** Milliseconds from spawn to the first byte on stdout (the guest's serial output). */
  firstByteMs: number;
  /** Milliseconds from spawn to the process's exit. */
  exitMs: number;
  /** Everything the process wrote to stdout. */
  output: string;
}

export interface RunExpectation {
  /** The exit status the guest's isa-debug-exit write gives: (value << 1) | 1. */
  status: number;
  /** The output must start with this. */
  outputPrefix: string;
  timeoutMs: number;
  /** Names the benchmark in messages. */
  who: string;
}

/** The tsvmm CLI as a command (`node dist/src/cli/main.js ARGS`). */
export function tsvmmCommand(name: string, args: string[]): VmmCommand {
  return { name, command: process.execPath, args: [join(ROOT, "dist", "src", "cli", "main.js"), ...args] };
}

/**
 * Spawns `vmm` and resolves once it has exited with the expected status and output; rejects (with the last
 * lines of its stderr) otherwise, or after the timeout.
 */
export function runVmm(vmm: VmmCommand, expect: RunExpectation): Promise<VmmRun> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(vmm.command, vmm.args, { stdio: ["ignore", "pipe", "pipe"] });
    let first: bigint | undefined;
    let output = "";
    let errors = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, expect.timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => {
      first ??= process.hrtime.bigint();
      output += chunk.toString("latin1");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${expect.who}: cannot start ${vmm.name}: ${e.message}`));
    });
    child.on("close", (status, signal) => {
      const end = process.hrtime.bigint();
      clearTimeout(timer);
      const problem = timedOut
        ? `did not end within ${expect.timeoutMs / 1000} s`
        : status !== expect.status
          ? `ended with ${status === null ? `signal ${signal}` : `status ${status}`}, not ${expect.status}`
          : !output.startsWith(expect.outputPrefix)
            ? `printed ${JSON.stringify(output.slice(0, 40))} first, not "${expect.outputPrefix}..."`
            : undefined;
      if (problem !== undefined || first === undefined) {
        const said = output.trim() ? `\nstdout: ${JSON.stringify(output.slice(0, 200))}` : "";
        const detail = errors.trim().split("\n").slice(-12).join("\n");
        reject(
          new Error(`${expect.who}: ${vmm.name} ${problem ?? "printed nothing"}${said}${detail ? `\n${detail}` : ""}`),
        );
        return;
      }
      resolve({ firstByteMs: Number(first - start) / 1e6, exitMs: Number(end - start) / 1e6, output });
    });
  });
}
