// QEMU's firmware configuration device (fw_cfg), legacy port interface only (QEMU docs/specs/fw_cfg.rst).
// The guest writes a 16-bit key to the selector register, then streams the selected item's bytes out of the
// data register. Items are built from the host's configuration; the guest can never change them. No DMA.
import type { BusDevice } from "../../bus/io_bus.js";

// Register offsets from the base port (0x510 on x86).
const SELECTOR = 0; // 16-bit, little-endian, write-only
const DATA = 1; // 8-bit on the port interface

// Selector keys of the items this model provides.
export const FW_CFG_SIGNATURE = 0x0000;
export const FW_CFG_ID = 0x0001;
export const FW_CFG_RAM_SIZE = 0x0003;
export const FW_CFG_NB_CPUS = 0x0005;
export const FW_CFG_MAX_CPUS = 0x000f;
export const FW_CFG_FILE_DIR = 0x0019;
export const FW_CFG_FILE_FIRST = 0x0020;

/** Selector bit 14 asked for write access to the item; QEMU ignores it when looking the item up, and so do we. */
const FW_CFG_WRITE_CHANNEL = 0x4000;
/** Files must stay below the write-channel bit, or their keys would alias other items. */
const FILE_KEY_LIMIT = FW_CFG_WRITE_CHANNEL;

/** FW_CFG_ID bit 0: the traditional (port) interface. Bit 1 (DMA) stays clear. */
const ID_TRADITIONAL = 0x1;

// The file directory: a u32 count, then one 64-byte FWCfgFile per file, all big-endian.
const DIR_COUNT_SIZE = 4;
const DIR_ENTRY_SIZE = 64;
const DIR_ENTRY_SIZE_FIELD = 0; // u32 size of the item
const DIR_ENTRY_SELECT_FIELD = 4; // u16 key of the item (then a u16 reserved)
const DIR_ENTRY_NAME_FIELD = 8; // char name[56], NUL-terminated
/** The name field holds 56 bytes including the terminating NUL. */
export const FW_CFG_MAX_FILE_PATH = 56;

const SIGNATURE = new TextEncoder().encode("QEMU");

export interface FwCfgConfig {
  /** Guest RAM in bytes. */
  ramSize: number;
  /** vCPUs present at boot. */
  nbCpus: number;
  /** vCPUs the machine could have. */
  maxCpus: number;
}

export interface FwCfgSnapshot {
  selector: number;
  offset: number;
}

export class FwCfg implements BusDevice {
  private readonly items = new Map<number, Uint8Array>();
  private readonly files: { name: string; key: number; data: Uint8Array }[] = [];
  /** After reset QEMU selects the signature, so a bare read of the data register starts with "QEMU". */
  private selector = FW_CFG_SIGNATURE;
  /** How far into the selected item the next data read starts. */
  private offset = 0;

  constructor(config: FwCfgConfig) {
    const { ramSize, nbCpus, maxCpus } = config;
    if (!Number.isSafeInteger(ramSize) || ramSize < 0) throw new RangeError(`fw_cfg: bad RAM size ${ramSize}`);
    if (!Number.isInteger(nbCpus) || nbCpus < 1 || nbCpus > 0xffff) {
      throw new RangeError(`fw_cfg: bad CPU count ${nbCpus}`);
    }
    if (!Number.isInteger(maxCpus) || maxCpus < nbCpus || maxCpus > 0xffff) {
      throw new RangeError(`fw_cfg: bad maximum CPU count ${maxCpus}`);
    }
    this.items.set(FW_CFG_SIGNATURE, SIGNATURE);
    this.items.set(FW_CFG_ID, u32le(ID_TRADITIONAL));
    this.items.set(FW_CFG_RAM_SIZE, u64le(ramSize));
    this.items.set(FW_CFG_NB_CPUS, u16le(nbCpus));
    this.items.set(FW_CFG_MAX_CPUS, u16le(maxCpus));
    this.items.set(FW_CFG_FILE_DIR, this.buildDirectory());
  }

  /**
   * Adds a named item readable by the guest; returns its selector key (FW_CFG_FILE_FIRST upward, in order
   * added). The bytes are not copied: the caller must not change them while the VM runs.
   */
  addFile(name: string, data: Uint8Array): number {
    if (!/^[\x20-\x7e]+$/.test(name)) {
      throw new RangeError(`fw_cfg: file name ${JSON.stringify(name)} is not printable ASCII`);
    }
    if (name.length >= FW_CFG_MAX_FILE_PATH) {
      throw new RangeError(`fw_cfg: file name ${name} is longer than ${FW_CFG_MAX_FILE_PATH - 1} characters`);
    }
    if (this.files.some((f) => f.name === name)) throw new RangeError(`fw_cfg: file ${name} already exists`);
    if (data.length > 0xffffffff) throw new RangeError(`fw_cfg: file ${name} is larger than 4 GiB`);
    const key = FW_CFG_FILE_FIRST + this.files.length;
    if (key >= FILE_KEY_LIMIT) throw new RangeError(`fw_cfg: no selector left for file ${name}`);
    this.files.push({ name, key, data });
    this.items.set(key, data);
    this.items.set(FW_CFG_FILE_DIR, this.buildDirectory());
    return key;
  }

  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    // The selector is write-only. A read of the data register wider than a byte (not possible on the
    // 8-bit port, but harmless) returns the next bytes in order, like the MMIO interface does.
    if (offset === DATA) this.readData(data);
  }

  write(offset: number, data: Uint8Array): void {
    // Only a 16-bit write selects, as in QEMU; writes to the data register are ignored (read-only interface).
    if (offset === SELECTOR && data.length === 2) {
      this.selector = (data[0] as number) | ((data[1] as number) << 8);
      this.offset = 0;
    }
  }

  private readData(data: Uint8Array): void {
    const item = this.items.get(this.selector & ~FW_CFG_WRITE_CHANNEL);
    if (!item) return; // unknown keys read as zeros
    const n = Math.max(0, Math.min(data.length, item.length - this.offset));
    data.set(item.subarray(this.offset, this.offset + n));
    this.offset += n; // stops at the end: past it every read returns zeros
  }

  private buildDirectory(): Uint8Array {
    const dir = new Uint8Array(DIR_COUNT_SIZE + DIR_ENTRY_SIZE * this.files.length);
    const view = new DataView(dir.buffer);
    view.setUint32(0, this.files.length);
    const encoder = new TextEncoder();
    this.files.forEach((f, i) => {
      const entry = DIR_COUNT_SIZE + i * DIR_ENTRY_SIZE;
      view.setUint32(entry + DIR_ENTRY_SIZE_FIELD, f.data.length);
      view.setUint16(entry + DIR_ENTRY_SELECT_FIELD, f.key);
      dir.set(encoder.encode(f.name), entry + DIR_ENTRY_NAME_FIELD); // the rest stays NUL
    });
    return dir;
  }

  /** The guest-visible selection state; the items come from the configuration and are not part of it. */
  snapshot(): FwCfgSnapshot {
    return { selector: this.selector, offset: this.offset };
  }

  restore(s: FwCfgSnapshot): void {
    this.selector = s.selector & 0xffff;
    this.offset = Number.isSafeInteger(s.offset) && s.offset > 0 ? s.offset : 0;
  }
}

// Little-endian scalar items.
function u16le(value: number): Uint8Array {
  const bytes = new Uint8Array(2);
  new DataView(bytes.buffer).setUint16(0, value, true);
  return bytes;
}

function u32le(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
}

function u64le(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
  return bytes;
}
