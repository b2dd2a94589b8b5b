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
import { describeStop, type StopDescription } from "./stop_report.js";
import { StopFlag, type StopReason } from "./vcpu_loop.js";
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
const noop = () => {};

export class Machine {
  private readonly stopFlag = new StopFlag();
  private readonly tidCell = new Int32Array(new SharedArrayBuffer(4));
  private running: Promise<RunResult> | undefined;
  private closed = false;
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

  /** Runs the guest on a worker thread until it stops; resolves with why. */
  run(): Promise<RunResult> {
    if (this.closed) throw new Error("machine is closed");
    this.running ??= this.runWorker();
    return this.running;
  }

  private async runWorker(): Promise<RunResult> {
    process.on("SIGUSR2", noop);
    const ring = ByteRing.create();
    const data: VcpuWorkerData = {
      vcpu: this.vcpu.handle,
      memory: this.memory.handles,
      stopCell: this.stopFlag.cell,
      tidCell: this.tidCell,
      consoleRing: ring.buffer,
      devices: { ramSize: this.memory.size, cpus: 1 },
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
      ring.wake();
    });
    const pump = (async () => {
      while (!finished) {
        await ring.waitForData(50);
        const bytes = ring.drain();
        if (bytes.length > 0) sink(bytes);
      }
      const rest = ring.drain();
      if (rest.length > 0) sink(rest);
    })();
    try {
      const m = await message;
      await pump;
      if (m.type === "error") throw Object.assign(new Error(m.message), { stack: m.stack });
      const description = describeStop(m.reason, this.vcpu, this.memory);
      return { reason: m.reason, status: description.status, description, stats: m.stats };
    } finally {
      finished = true;
      process.off("SIGUSR2", noop);
      await worker.terminate();
    }
  }

  /** Asks the vCPU to stop; run() then resolves with reason "stopped". Safe to call at any time. */
  stop(): void {
    this.stopFlag.request();
    this.vcpu.run.immediateExit = true;
    const tid = Atomics.load(this.tidCell, 0);
    if (tid !== 0 && this.running) {
      try {
        tgkill(getpid(), tid, KICK_SIGNAL);
      } catch {
        // The thread has already exited: nothing to kick.
      }
    }
  }

  /** Stops the guest if it runs, then releases the vCPU, the VM, guest memory and /dev/kvm. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.running) {
      this.stop();
      await this.running.catch(noop);
    }
    this.closed = true;
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
