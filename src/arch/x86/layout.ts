// Every fixed guest physical address tsvmm uses, named once. Low memory, below 1 MiB:
//
//   0x0500  GDT (null, code32, data, code64, TSS)
//   0x1000  default load address of flat real-mode binaries (the seed demo)
//   0x8000  boot stack, growing down from 0x8ff0
//   0x9000  page tables: PML4 (long mode) or the page directory (paged32)
//   0xa000  PDPT, then four page directories at 0xb000-0xefff (long mode, 2 MiB pages, first 4 GiB)
//   0x10000 Multiboot information: the info structure, memory map, command line, module list
//   0x20000 Linux: the zero page (struct boot_params) or the PVH start info, then the command line (to 0x2ffff)
//   0x9fc00 MP table (MP floating pointer + configuration table), in the EBDA
//   0xe0000 ACPI: the RSDP (found by the BIOS-area scan), then RSDT/XSDT, MADT, FADT, DSDT up to 0xeffff
//   0x100000 (1 MiB) default load address of flat protected/long-mode binaries; kernels load here

/** Where the seed demo and flat real-mode binaries are loaded and entered by default. */
export const DEFAULT_LOAD_ADDR = 0x1000;
/** Where flat binaries for protected, paged and long mode are loaded by default. */
export const DEFAULT_HIGH_LOAD_ADDR = 0x100000;

/** Real mode reaches 1 MiB plus the high memory area (0xffff:0xffff = 0x10ffef). */
export const REAL_MODE_ADDRESS_LIMIT = 0x10fff0;

export const GDT_ADDR = 0x500;
export const BOOT_STACK_BOTTOM = 0x8000;
export const BOOT_STACK_POINTER = 0x8ff0;
export const PML4_ADDR = 0x9000;
export const PAGE_DIRECTORY_32_ADDR = 0x9000;
export const PDPT_ADDR = 0xa000;
export const PD_ADDR = 0xb000;
/** Page directories for the first 4 GiB in long mode: one per GiB. */
export const PD_COUNT = 4;
export const PAGE_TABLES_END = PD_ADDR + PD_COUNT * 0x1000;

export const MULTIBOOT_INFO_ADDR = 0x10000;
export const MULTIBOOT_INFO_END = 0x20000;

/** Linux boots (bzImage, PVH): the zero page or hvm_start_info, its memory map, then the command line. */
export const LINUX_BOOT_INFO_ADDR = 0x20000;
export const LINUX_CMDLINE_ADDR = 0x21000;
export const LINUX_BOOT_INFO_END = 0x30000;

export const MPTABLE_ADDR = 0x9fc00;
export const MPTABLE_END = 0xa0000;
export const ACPI_RSDP_ADDR = 0xe0000;
export const ACPI_TABLES_ADDR = 0xe0040;
export const ACPI_TABLES_END = 0xf0000;

/** KVM's real-mode TSS (three pages) and identity-map page, just below the 4 GiB boundary (Intel hosts). */
export const KVM_TSS_ADDR = 0xfffbd000;
export const KVM_IDENTITY_MAP_ADDR = 0xfffbc000;
/** The IOAPIC and local APIC MMIO windows, as on every PC. */
export const IOAPIC_ADDR = 0xfec00000;
export const LAPIC_ADDR = 0xfee00000;

/** Conventional memory ends below the extended BIOS data area; 0xa0000-0xfffff is VGA and BIOS space. */
export const EBDA_START = 0x9fc00;
export const HIGH_MEMORY_START = 0x100000;
/** Where PCs keep the firmware (BIOS flash) below 4 GiB; tsvmm puts KVM's TSS and identity-map page there. */
export const FIRMWARE_WINDOW_START = KVM_IDENTITY_MAP_ADDR;
export const FOUR_GIB = 2 ** 32;
/** The IOAPIC's and the local APIC's MMIO pages. */
export const APIC_MMIO_SIZE = 0x1000;

/** Default guest RAM: 128 MiB, mapped from guest physical 0 (pages cost nothing until touched). */
export const DEFAULT_MEMORY_SIZE = 128 << 20;
export const MIN_MEMORY_SIZE = 64 << 10;
/** Guest RAM below the 32-bit PCI/MMIO hole; larger machines need a split layout (not yet supported). */
export const MAX_MEMORY_SIZE = 3 * 2 ** 30;

/** A guest physical range tsvmm itself writes at boot: images must stay clear of it. */
export interface ReservedRange {
  gpa: number;
  size: number;
  what: string;
}

export const GDT_RANGE: ReservedRange = { gpa: GDT_ADDR, size: 0x100, what: "the boot GDT" };
export const STACK_RANGE: ReservedRange = {
  gpa: BOOT_STACK_BOTTOM,
  size: 0x1000,
  what: "the boot stack",
};
export const PAGE_TABLES_RANGE: ReservedRange = {
  gpa: PML4_ADDR,
  size: PAGE_TABLES_END - PML4_ADDR,
  what: "the boot page tables",
};
export const MULTIBOOT_INFO_RANGE: ReservedRange = {
  gpa: MULTIBOOT_INFO_ADDR,
  size: MULTIBOOT_INFO_END - MULTIBOOT_INFO_ADDR,
  what: "the Multiboot information area",
};

export const MPTABLE_RANGE: ReservedRange = {
  gpa: MPTABLE_ADDR,
  size: MPTABLE_END - MPTABLE_ADDR,
  what: "the MP table",
};
export const ACPI_RANGE: ReservedRange = {
  gpa: ACPI_RSDP_ADDR,
  size: ACPI_TABLES_END - ACPI_RSDP_ADDR,
  what: "the ACPI tables",
};
export const FIRMWARE_TABLE_RANGES = [MPTABLE_RANGE, ACPI_RANGE];
export const LINUX_BOOT_INFO_RANGE: ReservedRange = {
  gpa: LINUX_BOOT_INFO_ADDR,
  size: LINUX_BOOT_INFO_END - LINUX_BOOT_INFO_ADDR,
  what: "the Linux boot information",
};
