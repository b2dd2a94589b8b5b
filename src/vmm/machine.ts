// A Machine: guest memory, vCPUs (each on its own worker thread) and devices on an accelerator, assembled from
// a config. Lifecycle: create (config settled, image checked, VM built, image loaded) -> run (resolves when the
// guest stops) -> close.
import type { Accelerator, AccelName, AccelVcpu, AccelVm } from "../accel/accelerator.js";
import { chooseAccelerator, openChosenAccelerator } from "../accel/open.js";
import { GuestMemory } from "../memory/guest_memory.js";
import { assembleVm } from "./assemble_vm.js";
import { type BootInfo, loadBootImage } from "./boot_image.js";
import { ByteRing } from "./byte_ring.js";
import { InputPump } from "./input_pump.js";
import { type MachineConfig, type MachineSettings, memoryLayout, settleConfig } from "./machine_config.js";
import { describeStop, type StopDescription } from "./stop_report.js";
import type { StopReason } from "./vcpu_loop.js";
import { VcpuThreads } from "./vcpu_threads.js";
import type { RunStats } from "./worker_protocol.js";

export interface RunResult {
  reason: StopReason;
  /** Status for a process that ran this guest: 0 after HLT, (code << 1) | 1 for a debug-exit, 1 on a fault. */
  status: number;
  /** A one-line summary and, for a fault, the vCPU state. */
  description: StopDescription;
  stats: RunStats;
  /** The accelerator that ran the guest. */
  accel: AccelName;
}

/** How often a vCPU is asked whether it halted for good (one vCPU with KVM's irqchip, where HLT stays in KVM). */
const HALT_PROBE_MS = 500;
const noop = () => {};
/** Typed-ahead console input waiting for the guest's UART; more waits in the input pump. */
const CONSOLE_INPUT_BUFFER = 4096;

/** created -> running <-> paused -> stopped (run() resolved) -> closed. */
export type MachineState = "created" | "running" | "paused" | "stopped" | "closed";

export class Machine {
  private readonly consoleIn = ByteRing.create(CONSOLE_INPUT_BUFFER);
  private readonly input = new InputPump(this.consoleIn, () => this.threads?.inputArrived());
  private threads: VcpuThreads | undefined;
  private running: Promise<RunResult> | undefined;
  private lifecycle: MachineState = "created";
  private stopRequested = false;

  private constructor(
    readonly config: MachineConfig,
    readonly settings: MachineSettings,
    private readonly accelerator: Accelerator,
    private readonly vm: AccelVm,
    readonly memory: GuestMemory,
    readonly vcpus: readonly AccelVcpu[],
    /** What was loaded where. */
    readonly boot: BootInfo,
  ) {}

  /** The accelerator running this machine. */
  get accel(): AccelName {
    return this.settings.accel;
  }

  /** The boot vCPU. */
  get vcpu(): AccelVcpu {
    return this.vcpus[0] as AccelVcpu;
  }

  static create(config: MachineConfig = {}): Machine {
    const accel = chooseAccelerator(config.accel, config.kvmPath);
    const settings = settleConfig(config, accel);
    // The image is checked in scratch memory before any accelerator opens: a bad image reads as a bad image
    // on every host, with or without KVM. (Untouched pages of a SharedArrayBuffer cost nothing.)
    loadBootImage(GuestMemory.createShared(memoryLayout(settings)), config.image, settings);
    const accelerator = openChosenAccelerator(accel, config.accel, config.kvmPath);
    try {
      const { vm, memory, vcpus, boot } = assembleVm(accelerator, settings, config.image, config.regs);
      return new Machine(config, settings, accelerator, vm, memory, vcpus, boot);
    } catch (e) {
      accelerator.close();
      throw e;
    }
  }

  get state(): MachineState {
    return this.lifecycle;
  }

  /** Runs the guest until it stops; resolves with why. */
  run(): Promise<RunResult> {
    if (this.lifecycle === "closed") throw new Error("machine is closed");
    if (!this.running) {
      this.lifecycle = "running";
      this.running = this.runThreads().finally(() => {
        if (this.lifecycle !== "closed") this.lifecycle = "stopped";
      });
    }
    return this.running;
  }

  /** Whether the CPU model leaves x2APIC in CPUID (the emulator's local APICs follow it). */
  private offersX2apic(): boolean {
    return !this.settings.cpuModel.overrides.some((o) => o.feature === "x2apic" && !o.enabled);
  }

  private async runThreads(): Promise<RunResult> {
    const { cpus, irqchip, serialPorts } = this.settings;
    const threads = new VcpuThreads({
      accel: this.accel,
      vcpus: this.vcpus,
      memory: this.memory,
      devices: {
        ramSize: this.memory.size,
        cpus,
        irqchip,
        serialPorts,
        x2apic: this.offersX2apic(),
        clock: this.settings.clock,
      },
      irqLines: this.vm.irqLines,
      consoleIn: this.consoleIn,
      console: this.config.console ?? ((bytes: Uint8Array) => process.stdout.write(bytes)),
      trace: this.config.trace ?? false,
    });
    this.threads = threads;
    if (this.stopRequested) threads.stop();
    // With KVM's irqchip, HLT stays in the kernel: ask now and then whether the vCPU halted for good.
    const probe =
      this.accel === "kvm" && irqchip && cpus === 1
        ? setInterval(() => {
            if (this.lifecycle === "running") threads.probeHalt();
          }, HALT_PROBE_MS)
        : undefined;
    if (this.config.consoleInput) this.input.attach(this.config.consoleInput);
    try {
      const r = await threads.run();
      const reason = linuxTripleFaultResets(this.boot, r.reason);
      const description = describeStop(reason, r.vcpu, this.memory);
      return { reason, status: description.status, description, stats: r.stats, accel: this.accel };
    } finally {
      clearInterval(probe);
      this.input.detach();
    }
  }

  /** Bytes for the guest's console (COM1), as if typed. */
  sendInput(bytes: Uint8Array | string): void {
    this.input.send(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  }

  /** Stops every vCPU between two instructions; resolves once all are parked. */
  async pause(): Promise<void> {
    if (this.lifecycle !== "running" || !this.threads) {
      throw new Error(`cannot pause a machine that is ${this.lifecycle}`);
    }
    this.lifecycle = "paused";
    await this.threads.pause();
  }

  resume(): void {
    if (this.lifecycle !== "paused") throw new Error(`cannot resume a machine that is ${this.lifecycle}`);
    this.lifecycle = "running";
    this.threads?.resume();
  }

  /** Asks the vCPUs to stop; run() then resolves with reason "stopped". Safe to call at any time. */
  stop(): void {
    this.stopRequested = true;
    this.threads?.stop();
  }

  /** Stops the guest if it runs, then releases the vCPUs, the VM, guest memory and the accelerator. */
  async close(): Promise<void> {
    if (this.lifecycle === "closed") return;
    if (this.running) {
      this.stop();
      await this.running.catch(noop);
    }
    this.lifecycle = "closed";
    this.vm.close();
    this.memory.close();
    this.accelerator.close();
  }
}

/**
 * A Linux kernel triple-faults on purpose to reset the machine (reboot=t, the last resort of its reboot
 * sequence); on a PC the chipset turns the shutdown cycle into a reset. Other guests' triple faults stay faults.
 */
function linuxTripleFaultResets(boot: BootInfo, reason: StopReason): StopReason {
  const linux = boot.format === "bzimage" || boot.format === "pvh";
  return linux && reason.kind === "shutdown" ? { kind: "reset", tripleFault: true } : reason;
}

export function createMachine(config: MachineConfig = {}): Machine {
  return Machine.create(config);
}
