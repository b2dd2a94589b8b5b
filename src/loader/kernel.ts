// `--kernel FILE`, as QEMU's -kernel: the image kind is detected from the file itself (a Multiboot header
// in the first 8 KiB, else the ELF magic), loaded, and given the entry state its kind specifies.
import { reservedFor } from "../arch/x86/boot.js";
import type { Regs } from "../arch/x86/cpu_state.js";
import type { ReservedRange } from "../arch/x86/layout.js";
import type { EntryMode } from "../arch/x86/regs.js";
import { UserError } from "../errors.js";
import type { GuestMemory } from "../memory/guest_memory.js";
import { isElf, loadElf, parseElf } from "./elf.js";
import { findMultibootHeader, loadMultiboot, MULTIBOOT_BOOTLOADER_MAGIC, type MultibootModule } from "./multiboot.js";
import type { LoadedImage } from "./placement.js";

export interface KernelOptions {
  cmdline?: string;
  /** Multiboot modules; `--initrd` is the first. */
  modules?: MultibootModule[];
  /** Guest memory the VMM writes itself, besides what the entry mode needs. */
  reserved?: readonly ReservedRange[];
}

export interface KernelBoot extends LoadedImage {
  kind: "multiboot" | "elf32" | "elf64";
  mode: EntryMode;
  /** Registers the image format defines at entry, over the mode's defaults. */
  regs: Partial<Regs>;
}

export function loadKernel(memory: GuestMemory, name: string, data: Uint8Array, options: KernelOptions): KernelBoot {
  if (data.length === 0) throw new UserError(`${name}: empty file`);
  const header = findMultibootHeader(name, data);
  if (header) {
    const mode = "protected";
    // As GRUB and QEMU do, the kernel's command line starts with its own file name.
    const mb = loadMultiboot(memory, name, data, header, {
      cmdline: options.cmdline ? `${name} ${options.cmdline}` : name,
      modules: options.modules ?? [],
      reserved: [...reservedFor(mode), ...(options.reserved ?? [])],
    });
    const regs = { rax: BigInt(MULTIBOOT_BOOTLOADER_MAGIC), rbx: BigInt(mb.infoAddr) };
    return { ...mb, kind: "multiboot", mode, regs };
  }
  if (isElf(data)) {
    if (options.modules?.length) throw new UserError(`${name}: modules (--initrd, --module) need a Multiboot kernel`);
    // The mode follows the class: ELF32 enters in protected mode, ELF64 in long mode.
    const elf = parseElf(name, data);
    const mode = elf.bits === 64 ? "long" : "protected";
    const image = loadElf(memory, name, data, elf, [...reservedFor(mode), ...(options.reserved ?? [])]);
    return { ...image, kind: elf.bits === 64 ? "elf64" : "elf32", mode, regs: {} };
  }
  throw new UserError(`${name}: not a kernel image tsvmm knows (no Multiboot header, not ELF)`);
}
