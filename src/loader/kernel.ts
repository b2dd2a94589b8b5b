// `--kernel FILE`, as QEMU's -kernel: the image kind is detected from the file itself (a Multiboot header
// in the first 8 KiB; an ELF file, with the PVH entry note or not; a Linux bzImage), loaded, and given the
// entry state its kind specifies. A file of no known kind is one error.
import { reservedFor } from "../arch/x86/boot.js";
import type { Regs } from "../arch/x86/cpu_state.js";
import { LINUX_BOOT_INFO_RANGE, type ReservedRange } from "../arch/x86/layout.js";
import type { BootEntryMode } from "../arch/x86/regs.js";
import { UserError } from "../errors.js";
import type { GuestMemory } from "../memory/guest_memory.js";
import { loadBzImage, looksLikeBzImage } from "./bzimage.js";
import { isElf, loadElf, parseElf } from "./elf.js";
import { findMultibootHeader, loadMultiboot, MULTIBOOT_BOOTLOADER_MAGIC, type MultibootModule } from "./multiboot.js";
import type { LoadedImage } from "./placement.js";
import { findPvhEntry, loadPvh } from "./pvh.js";

export interface KernelOptions {
  cmdline?: string;
  /** Multiboot modules; `--initrd` is the first (and a Linux kernel's only one). */
  modules?: MultibootModule[];
  /** Guest memory the VMM writes itself, besides what the entry mode needs. */
  reserved?: readonly ReservedRange[];
  /** Where the ACPI RSDP is, for Linux kernels; 0 (the default) when there are no ACPI tables. */
  acpiRsdpAddr?: number;
}

export type KernelKind = "multiboot" | "elf32" | "elf64" | "bzimage" | "pvh";

export interface KernelBoot extends LoadedImage {
  kind: KernelKind;
  mode: BootEntryMode;
  /** Registers the image format defines at entry, over the mode's defaults. */
  regs: Partial<Regs>;
}

export function loadKernel(memory: GuestMemory, name: string, data: Uint8Array, options: KernelOptions): KernelBoot {
  if (data.length === 0) throw new UserError(`${name}: empty file`);
  const reserved = (mode: BootEntryMode) => [...reservedFor(mode), ...(options.reserved ?? [])];
  const header = findMultibootHeader(name, data);
  if (header) {
    const mode = "protected";
    // As QEMU does ("%s %s"), the kernel's command line is its file name, a space and -append's string
    // (so a space ends it when there is no -append).
    const mb = loadMultiboot(memory, name, data, header, {
      cmdline: `${name} ${options.cmdline ?? ""}`,
      modules: options.modules ?? [],
      reserved: reserved(mode),
    });
    const regs = { rax: BigInt(MULTIBOOT_BOOTLOADER_MAGIC), rbx: BigInt(mb.infoAddr) };
    return { ...mb, kind: "multiboot", mode, regs };
  }
  if (isElf(data)) {
    const elf = parseElf(name, data);
    const pvhEntry = findPvhEntry(name, data, elf);
    if (pvhEntry !== undefined) {
      // PVH: 32-bit protected mode, paging off, EBX = the start info.
      const mode = "protected";
      const pvh = loadPvh(memory, name, data, elf, pvhEntry, linuxOptions(name, options, reserved(mode)));
      return { ...pvh, kind: "pvh", mode };
    }
    if (options.modules?.length) {
      throw new UserError(`${name}: modules (--initrd, --module) need a Multiboot kernel, a PVH ELF or a bzImage`);
    }
    // The mode follows the class: ELF32 enters in protected mode, ELF64 in long mode.
    const mode = elf.bits === 64 ? "long" : "protected";
    const image = loadElf(memory, name, data, elf, reserved(mode));
    return { ...image, kind: elf.bits === 64 ? "elf64" : "elf32", mode, regs: {} };
  }
  if (looksLikeBzImage(data)) {
    const mode = "linux64";
    const bz = loadBzImage(memory, name, data, linuxOptions(name, options, reserved(mode)));
    return { ...bz, kind: "bzimage", mode };
  }
  throw new UserError(`${name}: not a kernel image tsvmm knows (no Multiboot header, not ELF, not a bzImage)`);
}

/** A Linux kernel's options: one initrd at most, the boot information area kept clear. */
function linuxOptions(name: string, options: KernelOptions, reserved: readonly ReservedRange[]) {
  const [initrd, ...more] = options.modules ?? [];
  if (more.length > 0) throw new UserError(`${name}: a Linux kernel takes one --initrd and no --module`);
  return {
    cmdline: options.cmdline ?? "",
    ...(initrd && { initrd }),
    reserved: [...reserved, LINUX_BOOT_INFO_RANGE],
    acpiRsdpAddr: options.acpiRsdpAddr ?? 0,
  };
}
