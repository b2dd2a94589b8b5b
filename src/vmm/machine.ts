// A Machine: guest memory, one vCPU on its own worker thread, and the devices, assembled from a config.
// Lifecycle: create (VM built, image loaded) -> run (resolves when the guest stops) -> close.
import { Worker } from "node:worker_threads";
import { enterMode, reservedFor } from "../arch/x86/boot.js";
import { CR0_PG } from "../arch/x86/cpu_mode.js";
import { setupLapicLints } from "../arch/x86/lapic.js";
import {
  DEFAULT_HIGH_LOAD_ADDR,
  DEFAULT_LOAD_ADDR,
  DEFAULT_MEMORY_SIZE,
  KVM_IDENTITY_MAP_ADDR,
  KVM_TSS_ADDR,
  MAX_MEMORY_SIZE,
  MIN_MEMORY_SIZE,
  REAL_MODE_ADDRESS_LIMIT,
} from "../arch/x86/layout.js";
import type { EntryMode } from "../arch/x86/regs.js";
import { UserError } from "../errors.js";
import { SEED_CODE, SEED_REGS } from "../guests/seed.js";
import type { Regs } from "../kvm/structs.js";
import { getpid, tgkill } from "../kvm/sys.js";
import { Kvm } from "../kvm/system.js";
import type { Vcpu } from "../kvm/vcpu.js";
import type { Vm } from "../kvm/vm.js";
import { loadFlat } from "../loader/flat.js";
import { loadKernel } from "../loader/kernel.js";
import type { MultibootModule } from "../loader/multiboot.js";
import { GuestMemory } from "../memory/guest_memory.js";
import { ByteRing } from "./byte_ring.js";
import { InputPump } from "./input_pump.js";
import { describeStop, type StopDescription } from "./stop_report.js";
import { VcpuControl, VcpuState } from "./vcpu_control.js";
import type { StopReason } from "./vcpu_loop.js";
import type { RunStats, VcpuWorkerData, WorkerMessage } from "./worker_protocol.js";

/** A flat binary entered in a chosen CPU mode. */
export interface FlatImage {
  kind: "flat";
  /** Named in error messages. */
  name: string;
  data: Uint8Array;
  /** Default real. */
  mode?: EntryMode;
  /** Default 0x1000 in real mode, 1 MiB otherwise. */
  loadAddr?: number;
  /** Default: the load address. */
  entry?: number;
}

/** A kernel whose kind is read from the file, as QEMU's -kernel: Multiboot v1, ELF32 or ELF64. */
export interface KernelImage {
  kind: "kernel";
  name: string;
  data: Uint8Array;
  cmdline?: string;
  /** Multiboot modules (QEMU's -initrd list). */
  modules?: MultibootModule[];
}

/** What was booted, and how. */
export interface BootInfo {
  format: "flat" | "multiboot" | "elf32" | "elf64";
  mode: EntryMode;
  entry: number;
  segments: { gpa: number; size: number }[];
}

export function defaultLoadAddress(mode: EntryMode): number {
  return mode === "real" ? DEFAULT_LOAD_ADDR : DEFAULT_HIGH_LOAD_ADDR;
}

export interface MachineConfig {
  /** Path of the KVM device (default /dev/kvm). */
  kvmPath?: string;
  /** Guest RAM in bytes (default 128 MiB). */
  memorySize?: number;
  /** What to run; the seed demo when omitted. */
  image?: FlatImage | KernelImage;
  /** Initial general registers, over the entry mode's defaults. */
  regs?: Partial<Regs>;
  /** Receives the guest's console output (default: written to stdout). */
  console?: (bytes: Uint8Array) => void;
  /** Console input for the guest (COM1), read while the machine runs. */
  consoleInput?: NodeJS.ReadableStream;
  /** Print every guest I/O access to stderr. */
  trace?: boolean;
  /**
   * In-kernel interrupt controllers (PIC, IOAPIC, local APIC) and PIT. Default: on for kernels, off for flat
   * binaries, whose HLT then ends the run (with the irqchip a halted vCPU waits for an interrupt instead).
   */
  irqchip?: boolean;
}

export interface RunResult {
  reason: StopReason;
  /** Status for a process that ran this guest: 0 after HLT, (code << 1) | 1 for a debug-exit, 1 on a fault. */
  status: number;
  /** A one-line summary and, for a fault, the vCPU state. */
  description: StopDescription;
  stats: RunStats;
}

/** SIGUSR2 kicks a vCPU thread out of KVM_RUN (SIGUSR1 belongs to Node's inspector). */
const KICK_SIGNAL = 12;
/** How often a vCPU is asked whether it halted for good (only with the irqchip, where HLT stays in KVM). */
const HALT_PROBE_MS = 200;
const noop = () => {};

/** created -> running <-> paused -> stopped (run() resolved) -> closed. */
export type MachineState = "created" | "running" | "paused" | "stopped" | "closed";

export class Machine {
  private readonly control = new VcpuControl();
  private readonly consoleIn = ByteRing.create(4096);
  private readonly input = new InputPump(this.consoleIn, () => this.kick());
  private running: Promise<RunResult> | undefined;
  private lifecycle: MachineState = "created";
  /** Filled in by create(): what was loaded where. */
  boot!: BootInfo;

  private constructor(
    readonly config: MachineConfig,
    private readonly kvm: Kvm,
    private readonly vm: Vm,
    readonly memory: GuestMemory,
    readonly vcpu: Vcpu,
  ) {}

  static create(config: MachineConfig = {}): Machine {
    const memorySize = config.memorySize ?? DEFAULT_MEMORY_SIZE;
    validateMemorySize(memorySize);
    const kvm = Kvm.open(config.kvmPath);
    let vm: Vm | undefined;
    let memory: GuestMemory | undefined;
    try {
      vm = kvm.createVm();
      const irqchip = config.irqchip ?? config.image?.kind === "kernel";
      if (irqchip) createInterruptControllers(vm);
      memory = GuestMemory.create([{ gpa: 0, size: memorySize }]);
      memory.regions.forEach((r, slot) => {
        vm?.setUserMemoryRegion({
          slot,
          flags: 0,
          guestPhysAddr: BigInt(r.gpa),
          memorySize: BigInt(r.size),
          userspaceAddr: r.hostAddr,
        });
      });
      const vcpu = vm.createVcpu(0);
      if (irqchip) setupLapicLints(vcpu);
      const machine = new Machine({ ...config, irqchip }, kvm, vm, memory, vcpu);
      machine.load();
      return machine;
    } catch (e) {
      vm?.close();
      memory?.close();
      kvm.close();
      throw e;
    }
  }

  private load(): void {
    const image = this.config.image ?? { kind: "flat", name: "seed", data: SEED_CODE };
    let boot: BootInfo;
    let imageRegs: Partial<Regs> = {};
    if (image.kind === "flat") {
      const mode = image.mode ?? "real";
      const loaded = loadFlat(
        this.memory,
        image.name,
        image.data,
        image.loadAddr ?? defaultLoadAddress(mode),
        reservedFor(mode),
      );
      const entry = image.entry ?? loaded.entry;
      if (mode === "real" && entry >= REAL_MODE_ADDRESS_LIMIT) {
        throw new UserError(`entry point 0x${entry.toString(16)} is beyond what real mode can reach`);
      }
      boot = { format: "flat", mode, entry, segments: loaded.segments };
      if (!this.config.image) imageRegs = SEED_REGS;
    } else {
      const k = loadKernel(this.memory, image.name, image.data, {
        cmdline: image.cmdline ?? "",
        modules: image.modules ?? [],
      });
      boot = { format: k.kind, mode: k.mode, entry: k.entry, segments: k.segments };
      imageRegs = k.regs;
    }
    const { sregs, regs } = enterMode(boot.mode, this.memory, this.vcpu.getSregs(), boot.entry);
    Object.assign(regs, imageRegs, this.config.regs);
    this.vcpu.setSregs(sregs);
    this.vcpu.setRegs(regs);
    // Some hosts' KVM (this project's nested one among them) silently refuses paging outside long mode.
    if ((this.vcpu.getSregs().cr0 & CR0_PG) !== (sregs.cr0 & CR0_PG)) {
      throw new UserError(`this host's KVM refused to enable paging in ${boot.mode} mode (CR0.PG was dropped)`);
    }
    this.boot = boot;
  }

  get state(): MachineState {
    return this.lifecycle;
  }

  /** Runs the guest on a worker thread until it stops; resolves with why. */
  run(): Promise<RunResult> {
    if (this.lifecycle === "closed") throw new Error("machine is closed");
    if (!this.running) {
      this.lifecycle = "running";
      this.running = this.runWorker().finally(() => {
        if (this.lifecycle !== "closed") this.lifecycle = "stopped";
      });
    }
    return this.running;
  }

  private async runWorker(): Promise<RunResult> {
    process.on("SIGUSR2", noop);
    const consoleOut = ByteRing.create();
    const data: VcpuWorkerData = {
      vcpu: this.vcpu.handle,
      memory: this.memory.handles,
      control: this.control.cells,
      consoleOut: consoleOut.buffer,
      consoleIn: this.consoleIn.buffer,
      devices: { ramSize: this.memory.size, cpus: 1, irqchip: this.config.irqchip ?? false },
      vmFd: this.config.irqchip ? this.vm.fd : undefined,
      trace: this.config.trace ?? false,
    };
    const sink = this.config.console ?? ((bytes: Uint8Array) => process.stdout.write(bytes));
    const worker = new Worker(new URL("./vcpu_worker.js", import.meta.url), { workerData: data });
    let finished = false;
    const message = new Promise<WorkerMessage>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`vCPU worker exited (${code}) without a result`)));
    }).finally(() => {
      finished = true;
      consoleOut.wake();
    });
    const pump = (async () => {
      while (!finished) {
        await consoleOut.waitForData(50);
        const bytes = consoleOut.drain();
        if (bytes.length > 0) sink(bytes);
      }
      const rest = consoleOut.drain();
      if (rest.length > 0) sink(rest);
    })();
    const probe = this.config.irqchip
      ? setInterval(() => {
          if (this.lifecycle !== "running") return;
          this.control.requestProbe();
          this.kick();
        }, HALT_PROBE_MS)
      : undefined;
    if (this.config.consoleInput) this.input.attach(this.config.consoleInput);
    try {
      const m = await message;
      await pump;
      if (m.type === "error") throw Object.assign(new Error(m.message), { stack: m.stack });
      const description = describeStop(m.reason, this.vcpu, this.memory);
      return { reason: m.reason, status: description.status, description, stats: m.stats };
    } finally {
      finished = true;
      clearInterval(probe);
      this.input.detach();
      process.off("SIGUSR2", noop);
      await worker.terminate();
    }
  }

  /** Kicks the vCPU thread out of KVM_RUN so that it looks at its requests. */
  private kick(): void {
    this.vcpu.run.immediateExit = true;
    const tid = this.control.tid;
    if (tid === 0 || this.control.state === VcpuState.EXITED) return;
    try {
      tgkill(getpid(), tid, KICK_SIGNAL);
    } catch {
      // The thread has just exited: nothing to kick.
    }
  }

  /** Bytes for the guest's console (COM1), as if typed. */
  sendInput(bytes: Uint8Array | string): void {
    this.input.send(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  }

  /** Stops the vCPU between two instructions; resolves once it is parked. */
  async pause(): Promise<void> {
    if (this.lifecycle !== "running") throw new Error(`cannot pause a machine that is ${this.lifecycle}`);
    this.lifecycle = "paused";
    this.control.pauseRequested = true;
    this.kick();
    while (this.control.state === VcpuState.RUNNING || this.control.state === VcpuState.STARTING) {
      await this.control.waitWhileState(this.control.state, 50);
    }
  }

  resume(): void {
    if (this.lifecycle !== "paused") throw new Error(`cannot resume a machine that is ${this.lifecycle}`);
    this.lifecycle = "running";
    this.control.pauseRequested = false;
  }

  /** Asks the vCPU to stop; run() then resolves with reason "stopped". Safe to call at any time. */
  stop(): void {
    this.control.stop.request();
    this.control.pauseRequested = false;
    this.kick();
  }

  /** Stops the guest if it runs, then releases the vCPU, the VM, guest memory and /dev/kvm. */
  async close(): Promise<void> {
    if (this.lifecycle === "closed") return;
    if (this.running) {
      this.stop();
      await this.running.catch(noop);
    }
    this.lifecycle = "closed";
    this.vm.close();
    this.memory.close();
    this.kvm.close();
  }
}

/** The PC's interrupt controllers and timer, in the kernel; KVM needs its TSS and identity-map pages first. */
function createInterruptControllers(vm: Vm): void {
  vm.setTssAddr(KVM_TSS_ADDR);
  vm.setIdentityMapAddr(KVM_IDENTITY_MAP_ADDR);
  vm.createIrqchip();
  vm.createPit2();
}

function validateMemorySize(size: number): void {
  if (!Number.isSafeInteger(size) || size < MIN_MEMORY_SIZE || size > MAX_MEMORY_SIZE || size % 4096 !== 0) {
    throw new UserError(
      `memory size ${size} is invalid: it must be a multiple of 4 KiB between ${MIN_MEMORY_SIZE >> 10} KiB and ${MAX_MEMORY_SIZE / 2 ** 30} GiB`,
    );
  }
}

export function createMachine(config: MachineConfig = {}): Machine {
  return Machine.create(config);
}
