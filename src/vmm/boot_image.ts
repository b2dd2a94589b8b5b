// Loading what a machine runs into guest memory: a flat binary or a kernel, and with interrupt controllers
// the MP and ACPI tables that describe them. Needs no vCPU, so the same load checks an image before any
// accelerator opens (into scratch memory) and then loads it for real.
import { writeAcpiTables } from "../arch/x86/acpi.js";
import { reservedFor } from "../arch/x86/boot.js";
import type { Regs } from "../arch/x86/cpu_state.js";
import {
  ACPI_RSDP_ADDR,
  DEFAULT_HIGH_LOAD_ADDR,
  DEFAULT_LOAD_ADDR,
  FIRMWARE_TABLE_RANGES,
  REAL_MODE_ADDRESS_LIMIT,
  type ReservedRange,
} from "../arch/x86/layout.js";
import { writeMpTable } from "../arch/x86/mptable.js";
import type { BootEntryMode, EntryMode } from "../arch/x86/regs.js";
import { UserError } from "../errors.js";
import { SEED_CODE, SEED_REGS } from "../guests/seed.js";
import { loadFlat } from "../loader/flat.js";
import { type KernelKind, loadKernel } from "../loader/kernel.js";
import type { GuestMemory } from "../memory/guest_memory.js";
import type { FlatImage, KernelImage } from "./machine_config.js";

/** What was booted, and how. */
export interface BootInfo {
  format: "flat" | KernelKind;
  mode: BootEntryMode;
  entry: number;
  segments: { gpa: number; size: number }[];
}

export interface LoadedBoot {
  boot: BootInfo;
  /** Registers the image defines at entry (Multiboot's EAX/EBX, the seed demo's AX/BX), over the mode's. */
  regs: Partial<Regs>;
}

/** The seed demo, run when a config names no image. */
export const SEED_IMAGE: FlatImage = { kind: "flat", name: "seed", data: SEED_CODE };

export function defaultLoadAddress(mode: EntryMode): number {
  return mode === "real" ? DEFAULT_LOAD_ADDR : DEFAULT_HIGH_LOAD_ADDR;
}

/** Loads `image` (the seed demo when absent); with `irqchip`, writes the firmware tables for `cpus` vCPUs. */
export function loadBootImage(
  memory: GuestMemory,
  image: FlatImage | KernelImage | undefined,
  platform: { irqchip: boolean; cpus: number },
): LoadedBoot {
  // The MP table and ACPI tables are written with the irqchip: images must leave them alone.
  const firmware: readonly ReservedRange[] = platform.irqchip ? FIRMWARE_TABLE_RANGES : [];
  const loaded =
    image?.kind === "kernel"
      ? loadKernelImage(memory, image, firmware, platform.irqchip)
      : loadFlatImage(memory, image, firmware);
  if (platform.irqchip) {
    // How a guest finds its CPUs, the IOAPIC and the ISA interrupt routing without a BIOS.
    writeMpTable(memory, platform.cpus);
    writeAcpiTables(memory, platform.cpus);
  }
  return loaded;
}

function loadFlatImage(
  memory: GuestMemory,
  given: FlatImage | undefined,
  firmware: readonly ReservedRange[],
): LoadedBoot {
  const image = given ?? SEED_IMAGE;
  const mode = image.mode ?? "real";
  const loaded = loadFlat(memory, image.name, image.data, image.loadAddr ?? defaultLoadAddress(mode), [
    ...reservedFor(mode),
    ...firmware,
  ]);
  const entry = image.entry ?? loaded.entry;
  if (mode === "real" && entry >= REAL_MODE_ADDRESS_LIMIT) {
    throw new UserError(`entry point 0x${entry.toString(16)} is beyond what real mode can reach`);
  }
  return { boot: { format: "flat", mode, entry, segments: loaded.segments }, regs: given ? {} : SEED_REGS };
}

function loadKernelImage(
  memory: GuestMemory,
  image: KernelImage,
  firmware: readonly ReservedRange[],
  acpi: boolean,
): LoadedBoot {
  const k = loadKernel(memory, image.name, image.data, {
    cmdline: image.cmdline ?? "",
    modules: image.modules ?? [],
    reserved: firmware,
    acpiRsdpAddr: acpi ? ACPI_RSDP_ADDR : 0,
  });
  return { boot: { format: k.kind, mode: k.mode, entry: k.entry, segments: k.segments }, regs: k.regs };
}
