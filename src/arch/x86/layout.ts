// Every fixed guest physical address tsvmm uses, named once.

/** Where the seed demo and flat real-mode binaries are loaded and entered by default. */
export const DEFAULT_LOAD_ADDR = 0x1000;

/** Real mode reaches 1 MiB plus the high memory area (0xffff:0xffff = 0x10ffef). */
export const REAL_MODE_ADDRESS_LIMIT = 0x10fff0;

/** Default guest RAM: 128 MiB, mapped from guest physical 0 (pages cost nothing until touched). */
export const DEFAULT_MEMORY_SIZE = 128 << 20;
export const MIN_MEMORY_SIZE = 64 << 10;
/** Guest RAM below the 32-bit PCI/MMIO hole; larger machines need a split layout (not yet supported). */
export const MAX_MEMORY_SIZE = 3 * 2 ** 30;
