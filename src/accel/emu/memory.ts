// The emulated CPU's view of memory: segmented and linear accesses (limit checks, canonical checks), paging
// through the TLB, and physical accesses that go to guest RAM or, outside it, to the bus as MMIO of the same
// size, as under KVM. Writes to pages holding decoded code tell the code cache.

import type { Bus } from "../../bus/io_bus.js";
import type { GuestMemory } from "../../memory/guest_memory.js";
import type { Access } from "../accelerator.js";
import { CodePages } from "./code_pages.js";
import { ATTR_UNUSABLE, type Cpu, CR0_PG, CR0_WP, FS, GS, SS } from "./cpu.js";
import { fault, GP, SS_VECTOR } from "./fault.js";
import {
  ACCESS_FETCH,
  ACCESS_USER,
  ACCESS_WRITE,
  type PhysicalMemory,
  TLB_DIRTY,
  TLB_EXEC,
  TLB_USER,
  TLB_WRITE,
  Tlb,
  walk,
} from "./paging.js";

const CANONICAL_LIMIT = 2 ** 47;
/** EFLAGS.VM: virtual-8086 mode. */
const EFLAGS_VM = 1 << 17;
/** The xAPIC register page. */
const APIC_PAGE = 4096;

/** Where the memory path reports accesses that left RAM (MMIO), for traces, stats and device stops. */
export interface AccessSink {
  bus: Bus;
  onAccess: ((access: Access) => void) | undefined;
  /** Returns true when a device asked to end the run. */
  afterAccess(): boolean;
}

/** Instruction fetch from a physical address outside guest RAM: the run ends with a failure naming it. */
export class FetchOutsideRam extends Error {
  constructor(readonly physical: number) {
    super(`instruction fetch from guest physical 0x${physical.toString(16)}, outside guest RAM`);
    this.name = "FetchOutsideRam";
  }
}

export class Memory implements PhysicalMemory {
  readonly tlb = new Tlb();
  private readonly ram: Uint8Array;
  private readonly view: DataView;
  private readonly ramSize: number;
  /** One flag per 4 KiB page of RAM: decoded code came from it. */
  readonly codePages: Uint8Array;
  /** The code-page flags and their listeners, shared with the thread's other vCPUs. */
  readonly code: CodePages;
  /** Called with a physical address when a write hits a page holding decoded code. */
  readonly onCodeWrite = (physical: number): void => this.code.written(Math.floor(physical / 4096));
  sink: AccessSink | undefined;
  /** Set when a device asked to stop during an MMIO access. */
  deviceStop = false;
  mmioAccesses = 0;
  /** Accesses the CPU makes on its own behalf (descriptor tables, the TSS, the IDT) ignore CPL 3. */
  supervisorOverride = false;
  /**
   * The linear address the last segmented access resolved to when its segment may be read but not written
   * (read-only data, readable code), else -1. `linear` cannot tell reads from writes, so the type check of a
   * write happens in `translateWrite`: a write to this address is a #GP(0) (SDM vol. 3, 5.5). Any access
   * through a writable segment (a push, the other operand of MOVS) clears it first.
   */
  private readOnlyLin = -1;
  private readonly buffers = [
    new Uint8Array(0),
    new Uint8Array(1),
    new Uint8Array(2),
    new Uint8Array(0),
    new Uint8Array(4),
  ];
  private readonly buffer8 = new Uint8Array(8);

  constructor(
    private readonly cpu: Cpu,
    readonly guest: GuestMemory,
  ) {
    const low = guest.regions.find((r) => r.gpa === 0);
    this.ram = low ? low.bytes : new Uint8Array(0);
    this.ramSize = this.ram.length;
    this.view = new DataView(this.ram.buffer, this.ram.byteOffset, this.ram.byteLength);
    this.code = CodePages.of(guest, this.ramSize);
    this.codePages = this.code.flags;
  }

  // ---- physical ----

  private mmio(p: number, size: number, write: boolean, value: number, valueHi = 0): number {
    const data = size === 8 ? this.buffer8 : this.buffers[size]!;
    if (write) {
      for (let i = 0; i < size; i++) data[i] = (i < 4 ? value >>> (8 * i) : valueHi >>> (8 * (i - 4))) & 0xff;
    }
    const apic = this.cpu.platform?.apic;
    if (apic && apic.mode === "xapic" && p >= apic.baseAddress && p < apic.baseAddress + APIC_PAGE) {
      // The local APIC's page belongs to this vCPU, ahead of RAM and the bus (as KVM's in-kernel APIC).
      if (write) apic.write(p - apic.baseAddress, data);
      else apic.read(p - apic.baseAddress, data);
    } else if (this.guest.contains(p, size)) {
      // RAM outside the low region (none today, but regions are a list).
      const s = this.guest.slice(p, size);
      if (write) s.set(data);
      else data.set(s);
    } else {
      const sink = this.sink;
      if (sink) {
        if (write) sink.bus.write("mmio", p, data);
        else sink.bus.read("mmio", p, data);
        this.mmioAccesses++;
        sink.onAccess?.({ space: "mmio", addr: p, write, data: data.slice() });
        if (sink.afterAccess()) this.deviceStop = true;
      } else if (!write) {
        data.fill(0xff);
      }
    }
    if (write) return 0;
    if (size === 8) {
      this.cpu.vHi = data[4]! | (data[5]! << 8) | (data[6]! << 16) | (data[7]! << 24);
      return data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24);
    }
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | data[i]!;
    return v >>> 0;
  }

  readPhys8(p: number): number {
    return p < this.ramSize ? this.ram[p]! : this.mmio(p, 1, false, 0);
  }
  readPhys16(p: number): number {
    return p + 2 <= this.ramSize ? this.view.getUint16(p, true) : this.mmio(p, 2, false, 0);
  }
  readPhys32(p: number): number {
    return p + 4 <= this.ramSize ? this.view.getInt32(p, true) : this.mmio(p, 4, false, 0) | 0;
  }
  /** Low half returned; the high half in cpu.vHi. */
  readPhys64(p: number): number {
    if (p + 8 <= this.ramSize) {
      this.cpu.vHi = this.view.getInt32(p + 4, true);
      return this.view.getInt32(p, true);
    }
    return this.mmio(p, 8, false, 0);
  }
  writePhys8(p: number, v: number): void {
    if (p < this.ramSize) {
      if (this.codePages[p >>> 12]) this.onCodeWrite(p);
      this.ram[p] = v;
    } else this.mmio(p, 1, true, v);
  }
  writePhys16(p: number, v: number): void {
    if (p + 2 <= this.ramSize) {
      if (this.codePages[p >>> 12]) this.onCodeWrite(p);
      this.view.setUint16(p, v, true);
    } else this.mmio(p, 2, true, v);
  }
  writePhys32(p: number, v: number): void {
    if (p + 4 <= this.ramSize) {
      if (this.codePages[p >>> 12]) this.onCodeWrite(p);
      this.view.setInt32(p, v, true);
    } else this.mmio(p, 4, true, v);
  }
  writePhys64(p: number, lo: number, hi: number): void {
    if (p + 8 <= this.ramSize) {
      if (this.codePages[p >>> 12]) this.onCodeWrite(p);
      this.view.setInt32(p, lo, true);
      this.view.setInt32(p + 4, hi, true);
    } else this.mmio(p, 8, true, lo, hi);
  }

  // ---- linear ----

  private userAccess(): number {
    return this.cpu.cpl === 3 && !this.supervisorOverride ? ACCESS_USER : 0;
  }

  translateRead(lin: number): number {
    if (!(this.cpu.cr0 & CR0_PG)) return lin;
    const user = this.userAccess();
    const p = this.tlb.lookup(lin, user ? TLB_USER : 0);
    return p >= 0 ? p : walk(this.cpu, this, this.tlb, lin, user);
  }

  translateWrite(lin: number): number {
    if (lin === this.readOnlyLin && !this.supervisorOverride) fault(GP, 0);
    if (!(this.cpu.cr0 & CR0_PG)) return lin;
    const user = this.userAccess();
    const need = TLB_DIRTY | (user ? TLB_USER | TLB_WRITE : this.cpu.cr0 & CR0_WP ? TLB_WRITE : 0);
    const p = this.tlb.lookup(lin, need);
    return p >= 0 ? p : walk(this.cpu, this, this.tlb, lin, user | ACCESS_WRITE);
  }

  translateFetch(lin: number): number {
    if (!(this.cpu.cr0 & CR0_PG)) return lin;
    const user = this.userAccess();
    const p = this.tlb.lookup(lin, TLB_EXEC | (user ? TLB_USER : 0));
    return p >= 0 ? p : walk(this.cpu, this, this.tlb, lin, user | ACCESS_FETCH);
  }

  /** A read or write that crosses a page boundary: byte by byte, both pages checked before anything is written. */
  private crossRead(lin: number, size: number): number {
    const split = 4096 - (lin & 0xfff);
    const first = this.translateRead(lin);
    const second = this.translateRead(nextPage(lin));
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < size; i++) {
      const b = this.readPhys8(i < split ? first + i : second + (i - split));
      if (i < 4) lo |= b << (8 * i);
      else hi |= b << (8 * (i - 4));
    }
    this.cpu.vHi = hi;
    return lo >>> 0;
  }

  private crossWrite(lin: number, size: number, lo: number, hi: number): void {
    const split = 4096 - (lin & 0xfff);
    const first = this.translateWrite(lin);
    const second = this.translateWrite(nextPage(lin));
    for (let i = 0; i < size; i++) {
      const b = (i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4))) & 0xff;
      this.writePhys8(i < split ? first + i : second + (i - split), b);
    }
  }

  read8(lin: number): number {
    return this.readPhys8(this.translateRead(lin));
  }
  read16(lin: number): number {
    if ((lin & 0xfff) > 0xffe) return this.crossRead(lin, 2) & 0xffff;
    return this.readPhys16(this.translateRead(lin));
  }
  read32(lin: number): number {
    if ((lin & 0xfff) > 0xffc) return this.crossRead(lin, 4) | 0;
    return this.readPhys32(this.translateRead(lin));
  }
  read64(lin: number): number {
    if ((lin & 0xfff) > 0xff8) return this.crossRead(lin, 8) | 0;
    return this.readPhys64(this.translateRead(lin));
  }
  write8(lin: number, v: number): void {
    this.writePhys8(this.translateWrite(lin), v & 0xff);
  }
  write16(lin: number, v: number): void {
    if ((lin & 0xfff) > 0xffe) this.crossWrite(lin, 2, v, 0);
    else this.writePhys16(this.translateWrite(lin), v & 0xffff);
  }
  write32(lin: number, v: number): void {
    if ((lin & 0xfff) > 0xffc) this.crossWrite(lin, 4, v, 0);
    else this.writePhys32(this.translateWrite(lin), v);
  }
  write64(lin: number, lo: number, hi: number): void {
    if ((lin & 0xfff) > 0xff8) this.crossWrite(lin, 8, lo, hi);
    else this.writePhys64(this.translateWrite(lin), lo, hi);
  }
  /** Checks that a write of `size` bytes at `lin` would succeed (all pages present and writable). */
  probeWrite(lin: number, size: number): void {
    this.translateWrite(lin);
    if ((lin & 0xfff) + size > 4096) this.translateWrite(nextPage(lin));
  }

  /** The byte at `lin` as an instruction fetch; code runs only from RAM (as under KVM, which cannot run MMIO). */
  fetch8(lin: number): number {
    const p = this.translateFetch(lin);
    if (p < this.ramSize) return this.ram[p]!;
    if (!this.guest.contains(p, 1)) throw new FetchOutsideRam(p);
    return this.readPhys8(p);
  }

  // ---- segmented ----

  /**
   * The linear address of `size` bytes at `offset` in segment `seg` (offset already truncated to the address
   * size), after the limit or canonical check: #GP(0), or #SS(0) for the stack segment.
   */
  linear(seg: number, offset: number, size: number): number {
    const cpu = this.cpu;
    if (cpu.codeSize === 8) {
      const lin = seg >= FS && seg <= GS ? offset + cpu.segBase[seg]! : offset;
      if (lin < -CANONICAL_LIMIT || lin + size > CANONICAL_LIMIT) fault(seg === SS ? SS_VECTOR : GP, 0);
      this.readOnlyLin = -1; // 64-bit mode checks no segment types
      return lin;
    }
    const attr = cpu.segAttr[seg]!;
    const limit = cpu.segLimit[seg]!;
    if (attr & ATTR_UNUSABLE || (attr & 0x1c) === 0x14) this.checkSpecial(seg, attr, limit, offset, size);
    else if (offset + size - 1 > limit) fault(seg === SS ? SS_VECTOR : GP, 0);
    // Base and offset are below 2^32: ToUint32 wraps the sum at 4 GiB.
    const lin = (cpu.segBase[seg]! + offset) >>> 0;
    // A writable data segment (S, data, W), or real and virtual-8086 mode, which check no types.
    if ((attr & 0x1a) === 0x12 || !cpu.protectedMode || cpu.eflags & EFLAGS_VM) this.readOnlyLin = -1;
    else {
      // Execute-only code allows no data access at all; read-only data and readable code no write.
      if ((attr & 0x1a) === 0x18) fault(GP, 0);
      this.readOnlyLin = lin;
    }
    return lin;
  }

  /** Limit checks for an unusable (null) or expand-down segment. */
  private checkSpecial(seg: number, attr: number, limit: number, offset: number, size: number): void {
    const vector = seg === SS ? SS_VECTOR : GP;
    if (attr & ATTR_UNUSABLE) {
      if (this.cpu.protectedMode) fault(vector, 0);
      return;
    }
    // Expand-down data segment: valid offsets lie above the limit.
    const top = attr & (1 << 14) ? 0xffffffff : 0xffff;
    if (offset <= limit || offset + size - 1 > top) fault(vector, 0);
  }
}

function nextPage(lin: number): number {
  return lin - (lin & 0xfff) + 4096;
}
