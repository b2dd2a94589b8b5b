// What a machine is asked to be, and the checks that settle it: sizes and counts in range, and the defaults
// that depend on each other and on the accelerator (its interrupt controllers, its CPU models). Pure: nothing
// here opens a device or allocates guest memory.
import type { AccelName } from "../accel/accelerator.js";
import type { AccelChoice } from "../accel/open.js";
import type { Regs } from "../arch/x86/cpu_state.js";
import type { CpuBase, CpuModel } from "../arch/x86/cpuid.js";
import { DEFAULT_MEMORY_SIZE, MAX_MEMORY_SIZE, MIN_MEMORY_SIZE } from "../arch/x86/layout.js";
import type { EntryMode } from "../arch/x86/regs.js";
import { UserError } from "../errors.js";
import type { MultibootModule } from "../loader/multiboot.js";
import { PAGE_SIZE } from "../memory/guest_memory.js";
import { SERIAL_PORTS } from "./devices.js";
import { CLOCK_MODES, type ClockMode } from "./machine_clock.js";

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

export interface MachineConfig {
  /**
   * What runs the guest: "kvm", "emu" (tsvmm's x86-64 emulator; "tcg" is another name for it). Default: KVM
   * when /dev/kvm (or `kvmPath`, if given) opens, else the emulator.
   */
  accel?: AccelChoice;
  /** Path of the KVM device (default /dev/kvm); giving one asks for KVM. */
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
   * Interrupt controllers (PIC, IOAPIC, local APIC) and PIT, in the kernel under KVM. Default under KVM: on for
   * kernels, off for flat binaries, whose HLT then ends the run (with the irqchip a halted vCPU waits for an
   * interrupt instead). Several vCPUs need it. Under the emulator the controllers are tsvmm's own models.
   */
  irqchip?: boolean;
  /** vCPUs (default 1). The first boots; the others wait for INIT-SIPI-SIPI. */
  cpus?: number;
  /** The CPU the guest sees through CPUID (default: `host` under KVM, `max` under the emulator). */
  cpuModel?: CpuModel;
  /** Serial ports, COM1 to COM4 (default 1). Input goes to COM1; every port writes to the console. */
  serialPorts?: number;
  /**
   * The emulator's machine clock: "host" (default: guest time is host time, so a guest's timers, sleeps and
   * uptime mean what they say) or "virtual" (when every vCPU is halted, time jumps to the next timer instead of
   * waiting for it: idle boots finish sooner, but guest time runs ahead of the host's). KVM's is the host's.
   */
  clock?: ClockMode;
}

/** The most vCPUs a machine may have (the MP table's room in the EBDA bounds it). */
export const MAX_CPUS = 32;

/** A config with every default settled, for one accelerator. */
export interface MachineSettings {
  accel: AccelName;
  memorySize: number;
  cpus: number;
  irqchip: boolean;
  serialPorts: number;
  cpuModel: CpuModel & { base: CpuBase };
  clock: ClockMode;
}

/** Checks the sizes and counts `config` asks for on accelerator `accel`, and settles its defaults. */
export function settleConfig(config: MachineConfig, accel: AccelName): MachineSettings {
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
  return {
    accel,
    memorySize,
    cpus,
    serialPorts,
    irqchip: settleIrqchip(config, cpus),
    cpuModel: settleCpuModel(config, accel),
    clock: settleClock(config, accel),
  };
}

function settleClock(config: MachineConfig, accel: AccelName): ClockMode {
  const clock = config.clock ?? "host";
  if (!(CLOCK_MODES as readonly string[]).includes(clock)) {
    throw new UserError(`--clock ${clock} is invalid: it must be ${CLOCK_MODES.join(" or ")}`);
  }
  if (clock === "virtual" && accel !== "emu") throw new UserError("--clock virtual needs the emulator (--accel emu)");
  return clock;
}

/** KVM's in-kernel irqchip or the emulator's userspace one: on for kernels and several vCPUs by default. */
function settleIrqchip(config: MachineConfig, cpus: number): boolean {
  const irqchip = config.irqchip ?? (config.image?.kind === "kernel" || cpus > 1);
  if (cpus > 1 && !irqchip) throw new UserError("several vCPUs need the irqchip");
  return irqchip;
}

function settleCpuModel(config: MachineConfig, accel: AccelName): MachineSettings["cpuModel"] {
  const model = config.cpuModel ?? { overrides: [] };
  const base = model.base ?? (accel === "kvm" ? "host" : "max");
  if (base === "host" && accel !== "kvm")
    throw new UserError("--cpu host needs KVM; the emulator's default is --cpu max");
  return { ...model, base };
}

function validateMemorySize(size: number): void {
  if (!Number.isSafeInteger(size) || size < MIN_MEMORY_SIZE || size > MAX_MEMORY_SIZE || size % PAGE_SIZE !== 0) {
    throw new UserError(
      `memory size ${size} is invalid: it must be a multiple of 4 KiB between ${MIN_MEMORY_SIZE >> 10} KiB and ${MAX_MEMORY_SIZE / 2 ** 30} GiB`,
    );
  }
}

/** Guest RAM as regions: one, from guest physical 0. */
export function memoryLayout(settings: MachineSettings): { gpa: number; size: number }[] {
  return [{ gpa: 0, size: settings.memorySize }];
}
