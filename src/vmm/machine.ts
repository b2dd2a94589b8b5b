// A Machine: guest memory, vCPUs (each on its own worker thread) and devices, assembled from a config.
// Lifecycle: create (VM built, image loaded) -> run (resolves when the guest stops) -> close.
import { writeAcpiTables } from "../arch/x86/acpi.js";
import { enterMode, reservedFor } from "../arch/x86/boot.js";
import { CR0_PG } from "../arch/x86/cpu_mode.js";
import { buildCpuid, type CpuModel } from "../arch/x86/cpuid.js";
import { setupLapicLints } from "../arch/x86/lapic.js";
import {
  DEFAULT_HIGH_LOAD_ADDR,
  DEFAULT_LOAD_ADDR,
  DEFAULT_MEMORY_SIZE,
  FIRMWARE_TABLE_RANGES,
  KVM_IDENTITY_MAP_ADDR,
  KVM_TSS_ADDR,
  MAX_MEMORY_SIZE,
  MIN_MEMORY_SIZE,
  REAL_MODE_ADDRESS_LIMIT,
  type ReservedRange,
} from "../arch/x86/layout.js";
import { writeMpTable } from "../arch/x86/mptable.js";
import { bootMsrs } from "../arch/x86/msrs.js";
import type { EntryMode } from "../arch/x86/regs.js";
import { UserError } from "../errors.js";
import { SEED_CODE, SEED_REGS } from "../guests/seed.js";
import { KVM_CAP_IRQCHIP, KVM_CAP_PIT2 } from "../kvm/ioctls.js";
import { MpState, type Regs } from "../kvm/structs.js";
import { Kvm } from "../kvm/system.js";
import type { Vcpu } from "../kvm/vcpu.js";
import type { Vm } from "../kvm/vm.js";
import { loadFlat } from "../loader/flat.js";
import { loadKernel } from "../loader/kernel.js";
import type { MultibootModule } from "../loader/multiboot.js";
import { GuestMemory, PAGE_SIZE } from "../memory/guest_memory.js";
import { ByteRing } from "./byte_ring.js";
import { SERIAL_PORTS } from "./devices.js";
import { InputPump } from "./input_pump.js";
import { describeStop, type StopDescription } from "./stop_report.js";
import type { StopReason } from "./vcpu_loop.js";
import { VcpuThreads } from "./vcpu_threads.js";
import type { RunStats } from "./worker_protocol.js";

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
   * Several vCPUs need it.
   */
  irqchip?: boolean;
  /** vCPUs (default 1). The first boots; the others wait for INIT-SIPI-SIPI. */
  cpus?: number;
  /** The CPU the guest sees through CPUID (default: what the host's KVM supports). */
  cpuModel?: CpuModel;
  /** Serial ports, COM1 to COM4 (default 1). Input goes to COM1; every port writes to the console. */
  serialPorts?: number;
}

/** The most vCPUs a machine may have (the MP table's room in the EBDA bounds it). */
export const MAX_CPUS = 32;

export interface RunResult {
  reason: StopReason;
  /** Status for a process that ran this guest: 0 after HLT, (code << 1) | 1 for a debug-exit, 1 on a fault. */
  status: number;
  /** A one-line summary and, for a fault, the vCPU state. */
  description: StopDescription;
  stats: RunStats;
}

/** How often a vCPU is asked whether it halted for good (one vCPU with the irqchip, where HLT stays in KVM). */
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
  /** Filled in by create(): what was loaded where. */
  boot!: BootInfo;

  private constructor(
    readonly config: MachineConfig & { irqchip: boolean; cpus: number },
    private readonly kvm: Kvm,
    private readonly vm: Vm,
    readonly memory: GuestMemory,
    readonly vcpus: readonly Vcpu[],
  ) {}

  /** The boot vCPU. */
  get vcpu(): Vcpu {
    return this.vcpus[0] as Vcpu;
  }

  static create(config: MachineConfig = {}): Machine {
    const { memorySize, cpus, irqchip } = validateConfig(config);
    const kvm = Kvm.open(config.kvmPath);
    let vm: Vm | undefined;
    let memory: GuestMemory | undefined;
    try {
      vm = kvm.createVm();
      if (irqchip) createInterruptControllers(kvm, vm);
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
      const vcpus = createVcpus(kvm, vm, cpus, irqchip, config.cpuModel ?? { base: "host", overrides: [] });
      const machine = new Machine({ ...config, irqchip, cpus }, kvm, vm, memory, vcpus);
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
      const loaded = loadFlat(this.memory, image.name, image.data, image.loadAddr ?? defaultLoadAddress(mode), [
        ...reservedFor(mode),
        ...this.firmwareRanges(),
      ]);
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
        reserved: this.firmwareRanges(),
      });
      boot = { format: k.kind, mode: k.mode, entry: k.entry, segments: k.segments };
      imageRegs = k.regs;
    }
    if (this.config.irqchip) {
      // How a guest finds its CPUs, the IOAPIC and the ISA interrupt routing without a BIOS.
      writeMpTable(this.memory, this.config.cpus);
      writeAcpiTables(this.memory, this.config.cpus);
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

  /** The MP table and ACPI tables, written with the irqchip: images must leave them alone. */
  private firmwareRanges(): ReservedRange[] {
    return this.config.irqchip ? FIRMWARE_TABLE_RANGES : [];
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

  private async runThreads(): Promise<RunResult> {
    const threads = new VcpuThreads({
      vcpus: this.vcpus,
      memory: this.memory,
      devices: {
        ramSize: this.memory.size,
        cpus: this.config.cpus,
        irqchip: this.config.irqchip,
        serialPorts: this.config.serialPorts ?? 1,
      },
      vmFd: this.config.irqchip ? this.vm.fd : undefined,
      consoleIn: this.consoleIn,
      console: this.config.console ?? ((bytes: Uint8Array) => process.stdout.write(bytes)),
      trace: this.config.trace ?? false,
    });
    this.threads = threads;
    if (this.stopRequested) threads.stop();
    const probe =
      this.config.irqchip && this.config.cpus === 1
        ? setInterval(() => {
            if (this.lifecycle === "running") threads.probeHalt();
          }, HALT_PROBE_MS)
        : undefined;
    if (this.config.consoleInput) this.input.attach(this.config.consoleInput);
    try {
      const r = await threads.run();
      const description = describeStop(r.reason, r.vcpu, this.memory);
      return { reason: r.reason, status: description.status, description, stats: r.stats };
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

  /** Stops the guest if it runs, then releases the vCPUs, the VM, guest memory and /dev/kvm. */
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
function createInterruptControllers(kvm: Kvm, vm: Vm): void {
  for (const [cap, name] of [
    [KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"],
    [KVM_CAP_PIT2, "KVM_CAP_PIT2"],
  ] as const) {
    if (kvm.checkExtension(cap) <= 0) throw new UserError(`this host's KVM lacks ${name}: no in-kernel irqchip`);
  }
  vm.setTssAddr(KVM_TSS_ADDR);
  vm.setIdentityMapAddr(KVM_IDENTITY_MAP_ADDR);
  vm.createIrqchip();
  vm.createPit2();
}

/** vCPUs with their CPUID, boot MSRs and local APIC wiring; every AP waits for INIT-SIPI-SIPI. */
function createVcpus(kvm: Kvm, vm: Vm, cpus: number, irqchip: boolean, model: CpuModel): Vcpu[] {
  const supported = kvm.supportedCpuid();
  const vcpus: Vcpu[] = [];
  for (let id = 0; id < cpus; id++) {
    const vcpu = vm.createVcpu(id);
    vcpus.push(vcpu);
    vcpu.setCpuid(buildCpuid(supported, { id, count: cpus }, model));
    vcpu.setMsrs(bootMsrs());
    if (irqchip) setupLapicLints(vcpu);
    // Application processors sleep until the boot CPU sends them INIT and SIPI through its local APIC.
    if (irqchip && id > 0) vcpu.setMpState(MpState.UNINITIALIZED);
  }
  return vcpus;
}

/** Checks the sizes and counts a config asks for, and settles the defaults that depend on each other. */
function validateConfig(config: MachineConfig): { memorySize: number; cpus: number; irqchip: boolean } {
  const memorySize = config.memorySize ?? DEFAULT_MEMORY_SIZE;
  validateMemorySize(memorySize);
  const cpus = config.cpus ?? 1;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_CPUS) {
    throw new UserError(`--cpus ${cpus} is invalid: it must be between 1 and ${MAX_CPUS}`);
  }
  const serialPorts = config.serialPorts ?? 1;
  if (!Number.isInteger(serialPorts) || serialPorts < 1 || serialPorts > SERIAL_PORTS.length) {
    throw new UserError(`--serial ${serialPorts} is invalid: tsvmm has COM1 to COM${SERIAL_PORTS.length}`);
  }
  const irqchip = config.irqchip ?? (config.image?.kind === "kernel" || cpus > 1);
  if (cpus > 1 && !irqchip) throw new UserError("several vCPUs need the in-kernel irqchip");
  return { memorySize, cpus, irqchip };
}

function validateMemorySize(size: number): void {
  if (!Number.isSafeInteger(size) || size < MIN_MEMORY_SIZE || size > MAX_MEMORY_SIZE || size % PAGE_SIZE !== 0) {
    throw new UserError(
      `memory size ${size} is invalid: it must be a multiple of 4 KiB between ${MIN_MEMORY_SIZE >> 10} KiB and ${MAX_MEMORY_SIZE / 2 ** 30} GiB`,
    );
  }
}

export function createMachine(config: MachineConfig = {}): Machine {
  return Machine.create(config);
}
