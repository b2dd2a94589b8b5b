// Interrupt latency as a VMM's user sees it, for accelerators whose irqchip the benchmark cannot poke from
// inside the process (tsvmm's emulator, QEMU TCG): a byte written to the VMM's stdin raises the guest UART's
// received-data line on the host side; the guest's IRQ 4 handler (guests/bench_echo.S) writes it back; the
// echo read from the VMM's stdout ends the sample. Both VMMs are driven by this one loop, so pipe and event
// loop costs are the same on both sides.
import { spawn } from "node:child_process";
import type { VmmCommand } from "./vmm_process.js";

const READY_TIMEOUT_MS = 60_000;
const ECHO_TIMEOUT_MS = 10_000;

/**
 * Runs `vmm` (booting bench_echo), waits for its "R", then sends `warmup + count` bytes one at a time, each
 * after the previous one's echo; returns the `count` round trips after the warmup, in microseconds.
 */
export function echoLatencies(vmm: VmmCommand, count: number, warmup: number, who: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(vmm.command, vmm.args, { stdio: ["pipe", "pipe", "pipe"] });
    const samples: number[] = [];
    let errors = "";
    let ready = false;
    let sent = 0;
    let expected = 0;
    let t0 = 0n;
    let done = false;
    let timer = setTimeout(() => finish(new Error(`${who}: ${vmm.name} did not say it was ready`)), READY_TIMEOUT_MS);

    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      if (error) {
        const detail = errors.trim().split("\n").slice(-8).join("\n");
        reject(new Error(`${error.message}${detail ? `\n${detail}` : ""}`));
      } else resolve(samples);
    };
    const send = () => {
      if (sent === warmup + count) return finish();
      expected = 0x61 + (sent % 26); // a..z
      sent++;
      clearTimeout(timer);
      timer = setTimeout(() => finish(new Error(`${who}: ${vmm.name} did not echo byte ${sent}`)), ECHO_TIMEOUT_MS);
      t0 = process.hrtime.bigint();
      child.stdin.write(Uint8Array.of(expected));
    };

    child.stdout.on("data", (chunk: Buffer) => {
      if (!ready) {
        if (!chunk.includes(0x52)) return; // "R": the guest's handler is installed
        ready = true;
        send();
        return;
      }
      if (!chunk.includes(expected)) return;
      const t1 = process.hrtime.bigint();
      if (sent > warmup) samples.push(Number(t1 - t0) / 1000);
      send();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.stdin.on("error", () => {}); // a VMM that dies is reported by "close"
    child.on("error", (e) => finish(new Error(`${who}: cannot start ${vmm.name}: ${e.message}`)));
    child.on("close", (status, signal) => {
      if (!done) finish(new Error(`${who}: ${vmm.name} ended (${status ?? signal}) after ${sent} bytes`));
    });
  });
}
