// The threads of a running machine: one worker per vCPU and, with several vCPUs, the device host. Starts
// them, carries console output to its sink, steers them (kick, pause, stop) and gathers why they stopped.
import { Worker } from "node:worker_threads";
import type { AccelName, AccelVcpu, IrqLinesHandle } from "../accel/accelerator.js";
import type { GuestMemory } from "../memory/guest_memory.js";
import { ByteRing } from "./byte_ring.js";
import { createMailbox, Doorbell } from "./device_mailbox.js";
import type { DeviceConfig } from "./devices.js";
import { VcpuControl, VcpuState } from "./vcpu_control.js";
import type { StopReason } from "./vcpu_loop.js";
import type { DeviceWorkerData, RunStats, VcpuWorkerData, WorkerMessage } from "./worker_protocol.js";

const noop = () => {};
/** The console pump sleeps until the producer's notify; the timeout is only a safety net. */
const CONSOLE_WAIT_MS = 1000;

/**
 * A vCPU thread holds little JavaScript state: small heaps keep an idle VM's footprint down (measured: about
 * 1.5 MiB less per VM than Node's defaults). The old generation leaves room for --trace's disassembler.
 */
const VCPU_THREAD_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 48 };
/**
 * An emulated vCPU's thread holds the decoded and compiled code of everything the guest runs (a Linux kernel:
 * hundreds of MiB), and a young generation big enough for the allocation of decoding.
 */
const EMU_THREAD_LIMITS = { maxYoungGenerationSizeMb: 32, maxOldGenerationSizeMb: 4096 };

// Node cannot end while a worker sits in KVM_RUN (or an emulator's loop): whatever ends the process (an
// uncaught error in the main thread, process.exit), every running vCPU is kicked out on the way.
const running = new Set<VcpuThreads>();
process.on("exit", () => {
  for (const threads of running) threads.stop();
});

export interface ThreadsConfig {
  accel: AccelName;
  vcpus: readonly AccelVcpu[];
  memory: GuestMemory;
  devices: DeviceConfig;
  /** The VM's interrupt lines, with interrupt controllers: devices raise them. */
  irqLines: IrqLinesHandle | undefined;
  consoleIn: ByteRing;
  console: (bytes: Uint8Array) => void;
  trace: boolean;
}

export interface ThreadsResult {
  reason: StopReason;
  /** The vCPU the reason came from (a device's stop: the boot vCPU). */
  vcpu: AccelVcpu;
  stats: RunStats;
}

type Outcome =
  | { type: "stopped"; reason: StopReason; stats: RunStats }
  | { type: "error"; message: string; stack: string };

/** Resolves with a vCPU worker's result; rejects if it dies without one. */
function outcome(worker: Worker): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    worker.on("message", (m: WorkerMessage) => {
      if (m.type === "stopped" || m.type === "error") resolve(m);
    });
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`a worker thread exited (${code}) without a result`)));
  });
}

export class VcpuThreads {
  readonly controls: VcpuControl[];
  private readonly doorbell: Doorbell | undefined;
  private deviceStop: StopReason | undefined;

  constructor(private readonly config: ThreadsConfig) {
    this.controls = config.vcpus.map(() => new VcpuControl());
    // Several KVM vCPUs reach the devices on a device-host thread; emulated vCPUs share one thread with them.
    this.doorbell = config.accel === "kvm" && config.vcpus.length > 1 ? new Doorbell() : undefined;
  }

  /** Runs every thread until the guest stops. */
  async run(): Promise<ThreadsResult> {
    const { accel, vcpus, memory, devices, irqLines, consoleIn, trace } = this.config;
    running.add(this);
    const consoleOut = ByteRing.create();
    const mailboxes = vcpus.map(() => createMailbox());
    const workers: Worker[] = [];
    let host: Worker | undefined;
    let hostDone: Promise<unknown> = Promise.resolve();
    let finished = false;
    const pump = (async () => {
      while (!finished) {
        await consoleOut.waitForData(CONSOLE_WAIT_MS);
        const bytes = consoleOut.drain();
        if (bytes.length > 0) this.config.console(bytes);
      }
      const rest = consoleOut.drain();
      if (rest.length > 0) this.config.console(rest);
    })();
    try {
      if (this.doorbell) {
        if (irqLines === undefined) throw new Error("several vCPUs need interrupt controllers");
        const data: DeviceWorkerData = {
          devices,
          irqLines,
          mailboxes,
          doorbell: this.doorbell.cells,
          consoleOut: consoleOut.buffer,
          consoleIn: consoleIn.buffer,
        };
        // Alive from now: vCPUs may knock before the host thread is up; it clears this when it ends.
        this.doorbell.hostAlive = true;
        host = new Worker(new URL("./device_worker.js", import.meta.url), { workerData: data });
        host.once("exit", () => {
          if (this.doorbell) this.doorbell.hostAlive = false;
        });
        hostDone = new Promise((resolve, reject) => {
          host?.on("message", (m: WorkerMessage) => {
            if (m.type === "device-stop") {
              this.deviceStop ??= m.reason;
              this.stop();
            } else if (m.type === "host-stopped") resolve(undefined);
            else if (m.type === "error") reject(Object.assign(new Error(m.message), { stack: m.stack }));
          });
          host?.once("error", reject);
        });
        hostDone.catch(noop); // awaited below; this only keeps an early failure from counting as unhandled
      }
      // The emulator runs every vCPU on the first one's thread; the others' controls only mirror the run.
      const threaded = accel === "emu" ? vcpus.slice(0, 1) : vcpus;
      for (const c of this.controls.slice(threaded.length)) c.state = VcpuState.EXITED;
      const outcomes = threaded.map((vcpu, i) => {
        const data: VcpuWorkerData = {
          accel,
          vcpu: vcpu.handle,
          memory: memory.handles,
          control: (this.controls[i] as VcpuControl).cells,
          consoleOut: consoleOut.buffer,
          consoleIn: consoleIn.buffer,
          devices,
          irqLines,
          trace,
          ...(threaded.length < vcpus.length && { siblings: vcpus.slice(1).map((v) => v.handle) }),
          ...(this.doorbell && { remote: { mailbox: mailboxes[i] as Int32Array, doorbell: this.doorbell.cells } }),
        };
        const worker = new Worker(new URL("./vcpu_worker.js", import.meta.url), {
          workerData: data,
          resourceLimits: accel === "emu" ? EMU_THREAD_LIMITS : VCPU_THREAD_LIMITS,
        });
        workers.push(worker);
        // The first vCPU to stop for a reason of its own stops the others.
        return outcome(worker).then((o) => {
          if (o.type === "error" || o.reason.kind !== "stopped") this.stop();
          return o;
        });
      });
      const results = await Promise.all(outcomes);
      this.doorbell?.requestStop();
      await hostDone;
      const failed = results.find((o) => o.type === "error");
      if (failed?.type === "error") throw Object.assign(new Error(failed.message), { stack: failed.stack });
      const stopped = results as Extract<Outcome, { type: "stopped" }>[];
      const own = stopped.findIndex((o) => o.reason.kind !== "stopped");
      const reason = this.deviceStop ?? stopped[own]?.reason ?? { kind: "stopped" };
      const vcpu = vcpus[this.deviceStop || own < 0 ? 0 : own] as AccelVcpu;
      return { reason, vcpu, stats: sumStats(stopped.map((o) => o.stats)) };
    } finally {
      // Whatever ended the run, no vCPU thread may be left inside its run: terminate() cannot interrupt KVM_RUN.
      this.stop();
      finished = true;
      consoleOut.wake();
      await pump;
      this.doorbell?.requestStop();
      running.delete(this);
      await Promise.all([...workers, ...(host ? [host] : [])].map((w) => w.terminate()));
    }
  }

  /** Kicks vCPU `i` out of its run so that it looks at its requests. */
  kick(i: number): void {
    const vcpu = this.config.vcpus[i];
    const control = this.controls[i];
    if (!vcpu || !control) return;
    control.kick();
    if (control.state !== VcpuState.EXITED) vcpu.interrupt?.();
  }

  /** Console input is waiting: wake whoever owns the UART. */
  inputArrived(): void {
    if (this.doorbell) this.doorbell.ring();
    else this.kick(0);
  }

  stop(): void {
    this.controls.forEach((c, i) => {
      c.stop.request();
      c.pauseRequested = false;
      this.kick(i);
    });
  }

  async pause(): Promise<void> {
    this.controls.forEach((c, i) => {
      c.pauseRequested = true;
      this.kick(i);
    });
    for (const c of this.controls) {
      while (c.state === VcpuState.RUNNING || c.state === VcpuState.STARTING) await c.waitWhileState(c.state, 50);
    }
  }

  resume(): void {
    for (const c of this.controls) c.pauseRequested = false;
  }

  /** Asks the single vCPU whether it halted for good (see vcpu_worker.ts). */
  probeHalt(): void {
    this.controls[0]?.requestProbe();
    this.kick(0);
  }
}

function sumStats(all: readonly RunStats[]): RunStats {
  return all.reduce(
    (a, s) => ({
      exits: a.exits + s.exits,
      runNs: Math.max(a.runNs, s.runNs),
      unclaimedReads: a.unclaimedReads + s.unclaimedReads,
      unclaimedWrites: a.unclaimedWrites + s.unclaimedWrites,
    }),
    { exits: 0, runNs: 0, unclaimedReads: 0, unclaimedWrites: 0 },
  );
}
