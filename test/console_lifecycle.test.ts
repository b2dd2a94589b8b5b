// Interrupt-driven serial input, the halt probe, and pause/resume/stop of a running vCPU.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createMachine } from "../src/vmm/machine.js";
import { assembleFlat, ROOT } from "./helpers/assemble.js";
import { accelerators } from "./helpers/kvm.js";
import { CLI, runMachine } from "./helpers/run.js";

const flat = (file: string) => ({
  kind: "flat" as const,
  name: file,
  data: assembleFlat({ file }),
  mode: "real" as const,
});
const dir = mkdtempSync(join(tmpdir(), "tsvmm-console-"));

for (const accel of accelerators()) {
  test(`input sent to the machine arrives through received-data interrupts and is echoed [${accel}]`, async () => {
    let output = "";
    const m = createMachine({
      accel,
      image: flat("serial_echo.S"),
      irqchip: true,
      console: (b) => {
        output += Buffer.from(b).toString("latin1");
      },
    });
    try {
      const running = m.run();
      while (!output.includes("ready\n")) await sleep(10);
      m.sendInput("hello, ");
      await sleep(50);
      m.sendInput("world q");
      const r = await running;
      assert.deepEqual(r.reason, { kind: "exit", code: 0x2a });
      assert.equal(output, "ready\nhello, world q");
    } finally {
      await m.close();
    }
  });
}

for (const accel of accelerators()) {
  test(`piped stdin reaches the guest through the CLI [${accel}]`, () => {
    const file = join(dir, "echo.bin");
    writeFileSync(file, assembleFlat({ file: "serial_echo.S" }));
    const r = spawnSync(process.execPath, [CLI, "run", "--accel", accel, "--irqchip", file], {
      input: "piped bytes, then q",
      encoding: "latin1",
      timeout: 30_000,
      killSignal: "SIGKILL",
    });
    assert.equal(r.stdout, "ready\npiped bytes, then q");
    assert.equal(r.status, (0x2a << 1) | 1, r.stderr);
  });
}

for (const accel of accelerators()) {
  test(`with the irqchip, a guest halted with interrupts off ends the run as a halt [${accel}]`, async () => {
    const r = await runMachine({ accel, image: flat("cli_hlt.S"), irqchip: true });
    assert.equal(r.output, "bye");
    assert.equal(r.reason.kind, "halt");
    assert.equal(r.status, 0);
  });
}

for (const accel of accelerators()) {
  test(`pause stops a spinning vCPU, resume lets it go on, stop ends it; nothing leaks [${accel}]`, async () => {
    const fds = () => readdirSync("/proc/self/fd").length;
    const threads = () => readdirSync("/proc/self/task").length;
    const fdsBefore = fds();
    const threadsBefore = threads();
    const m = createMachine({ accel, image: flat("count_forever.S"), console: () => {} });
    const counter = () => m.memory.readU32(0x2000);
    const running = m.run();
    try {
      while (counter() === 0) await sleep(5);
      await m.pause();
      assert.equal(m.state, "paused");
      const paused = counter();
      await sleep(150);
      assert.equal(counter(), paused, "no progress while paused");
      m.resume();
      assert.equal(m.state, "running");
      await sleep(150);
      assert.ok(counter() > paused, "progress after resume");
      m.stop();
      const r = await running;
      assert.equal(r.reason.kind, "stopped");
      assert.equal(m.state, "stopped");
    } finally {
      await m.close();
    }
    assert.equal(m.state, "closed");
    assert.equal(fds(), fdsBefore);
    // The vCPU's worker thread is gone too (threads from Node's own pools may linger; none may be added).
    await sleep(100);
    assert.ok(threads() <= threadsBefore, `threads ${threads()} > ${threadsBefore}`);
  });
}

/** Runs the CLI on a pseudo-terminal (test/helpers/pty_run.py), typing each step's input once its text shows. */
function onTerminal(steps: [waitFor: string, input: string][], args: string[]) {
  const script = join(ROOT, "test", "helpers", "pty_run.py");
  const stepArgs = steps.flatMap(([w, i]) => [w, i === "SIGTERM" ? i : Buffer.from(i, "latin1").toString("hex")]);
  const r = spawnSync("python3", [script, ...stepArgs, "--", process.execPath, CLI, ...args], {
    encoding: "utf8",
    timeout: 40_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { output: string; status: number; rawWhileRunning: boolean; restored: boolean };
}

for (const accel of accelerators()) {
  test(`on a terminal: raw input reaches the guest, Ctrl-A x quits, the terminal is restored [${accel}]`, () => {
    const file = join(dir, "echo-tty.bin");
    writeFileSync(file, assembleFlat({ file: "serial_echo.S" }));
    const quit = onTerminal(
      [
        ["ready", "hi"],
        ["hi", "\x01x"],
      ],
      ["run", "--accel", accel, "--irqchip", file],
    );
    assert.equal(quit.output, "ready\r\nhi");
    assert.equal(quit.status, 0);
    assert.ok(quit.rawWhileRunning, "raw mode while the guest runs");
    assert.ok(quit.restored, "terminal modes restored");

    const escaped = onTerminal(
      [
        ["ready", "a"],
        ["a", "\x01\x01q"],
      ],
      ["run", "--accel", accel, "--irqchip", file],
    );
    assert.equal(escaped.output, "ready\r\na\x01q", "Ctrl-A Ctrl-A sends one Ctrl-A");
    assert.equal(escaped.status, (0x2a << 1) | 1);
    assert.ok(escaped.restored);

    const terminated = onTerminal([["ready", "SIGTERM"]], ["run", "--accel", accel, "--irqchip", file]);
    assert.equal(terminated.status, 0);
    assert.ok(terminated.restored, "terminal restored after SIGTERM");
  });
}

for (const accel of accelerators()) {
  test(`a reset through the i8042 ends the run with status 0; --reboot starts the machine again [${accel}]`, () => {
    const file = join(dir, "reset.bin");
    writeFileSync(file, assembleFlat({ file: "reset_loop.S" }));
    const once = spawnSync(process.execPath, [CLI, "run", "--accel", accel, file], {
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(once.stdout, "boot\n");
    assert.equal(once.stderr, "");
    assert.equal(once.status, 0);
    const again = spawnSync(process.execPath, [CLI, "run", "--accel", accel, "--reboot", "--timeout", "2000", file], {
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(again.status, 124, again.stderr);
    const boots = again.stdout.split("\n").filter((l) => l === "boot").length;
    assert.ok(boots >= 2, `booted ${boots} times`);
  });

  test(`--serial 4 adds COM2-COM4 at their usual ports, writing to the console [${accel}]`, () => {
    const file = join(dir, "ports.bin");
    writeFileSync(file, assembleFlat({ file: "serial_ports.S" }));
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [CLI, "run", "--accel", accel, ...args, file], { encoding: "utf8", timeout: 30_000 });
    const four = cli("--serial", "4");
    assert.equal(four.stdout, "com2=1 com3=1 com4=1\nvia com2\n");
    assert.equal(four.status, 0, four.stderr);
    const one = cli();
    assert.equal(one.stdout, "com2=0 com3=0 com4=0\n");
    const bad = cli("--serial", "5");
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, "tsvmm: --serial 5 is invalid: tsvmm has COM1 to COM4\n");
  });

  for (const cpus of [1, 2]) {
    test(`an error in the main thread ends the process promptly, with ${cpus} vCPU(s) inside their run [${accel}]`, () => {
      const spin = join(dir, "spin.bin");
      writeFileSync(spin, assembleFlat({ file: "spin.S" }));
      const script = `
        import { readFileSync } from "node:fs";
        import { createMachine } from ${JSON.stringify(join(ROOT, "dist", "src", "index.js"))};
        const image = { kind: "flat", name: "spin", data: readFileSync(${JSON.stringify(spin)}) };
        // The error comes once the guest is known to be spinning: after its first output.
        let armed = false;
        const console = (bytes) => {
          process.stdout.write(bytes);
          if (armed) return;
          armed = true;
          setTimeout(() => { throw new Error("boom in the main thread"); }, 100);
        };
        const m = createMachine({ accel: ${JSON.stringify(accel)}, image, cpus: ${cpus}, console });
        m.run();
      `;
      const file = join(dir, `crash-${accel}-${cpus}.mjs`);
      writeFileSync(file, script);
      const started = Date.now();
      const r = spawnSync(process.execPath, [file], {
        encoding: "utf8",
        timeout: 20_000,
        killSignal: "SIGKILL",
      });
      assert.equal(r.status, 1, `status ${r.status}, ${r.stderr}`);
      assert.match(r.stderr, /boom in the main thread/);
      assert.equal(r.stdout, "spinning\n");
      assert.ok(Date.now() - started < 10_000, "ends promptly");
    });
  }
}
