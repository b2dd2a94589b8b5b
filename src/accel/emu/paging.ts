// Linear-to-physical translation (Intel SDM vol. 3, chapter 4): 32-bit paging (with PSE), PAE and 4-level
// paging, with the accessed and dirty bits set as the walk goes and a direct-mapped TLB in front.
import { type Cpu, CR0_WP, CR4_PAE, CR4_PSE, EFER_LMA, EFER_NXE } from "./cpu.js";
import { fault, PF_VECTOR } from "./fault.js";

/** What an access needs from the walk. */
export const ACCESS_WRITE = 1;
export const ACCESS_USER = 2;
export const ACCESS_FETCH = 4;

// Page-table entry bits.
const PTE_P = 1;
const PTE_RW = 2;
const PTE_US = 4;
const PTE_A = 0x20;
const PTE_D = 0x40;
const PTE_PS = 0x80;
const PTE_G = 0x100;
/** In the high half of a 64-bit entry. */
const PTE_HI_NX = 0x80000000 | 0;
/**
 * Bits 51:40 of a 64-bit entry (in its high half): reserved, as they lie above MAXPHYADDR (40, as CPUID
 * 0x80000008 reports). Set in a present entry they end the walk with a #PF with RSVD (SDM vol. 3, 4.7).
 */
const PTE_HI_RSVD = 0x000fff00;
/** Reserved bits 20:13 of a 2 MiB page's PDE, 29:13 of a 1 GiB page's PDPTE, 21:13 of a 4 MiB PDE (no PSE-36). */
const PDE_2M_RSVD = 0x001fe000;
const PDPTE_1G_RSVD = 0x3fffe000;
const PDE_4M_RSVD = 0x003fe000;
/** Physical address bits 32-51 of a 64-bit entry, in its high half. */
const PTE_HI_ADDR = 0xfffff;

// #PF error code bits.
const PFEC_P = 1;
const PFEC_W = 2;
const PFEC_U = 4;
const PFEC_RSVD = 8;
const PFEC_I = 16;

// TLB entry permissions (what every level of the walk allowed).
export const TLB_WRITE = 1;
export const TLB_USER = 2;
export const TLB_DIRTY = 4;
export const TLB_EXEC = 8;
export const TLB_GLOBAL = 16;

const TLB_SIZE = 4096;
const TLB_MASK = TLB_SIZE - 1;
const NO_PAGE = -(2 ** 60);
const TWO32 = 4294967296;

/** How page tables are read and written: physical memory, bounds-checked by the caller. */
export interface PhysicalMemory {
  readPhys32(p: number): number;
  writePhys32(p: number, v: number): void;
}

export class Tlb {
  readonly tag = new Float64Array(TLB_SIZE).fill(NO_PAGE);
  readonly phys = new Float64Array(TLB_SIZE);
  readonly perm = new Uint8Array(TLB_SIZE);

  flushAll(): void {
    this.tag.fill(NO_PAGE);
  }

  /** A CR3 load: everything but global pages. */
  flushNonGlobal(): void {
    for (let i = 0; i < TLB_SIZE; i++) if (!(this.perm[i]! & TLB_GLOBAL)) this.tag[i] = NO_PAGE;
  }

  flushPage(lin: number): void {
    const key = Math.floor(lin / 4096);
    const idx = key & TLB_MASK;
    if (this.tag[idx] === key) this.tag[idx] = NO_PAGE;
  }

  /** The physical address for `lin` if the TLB holds its page with every permission in `need`, else -1. */
  lookup(lin: number, need: number): number {
    const key = Math.floor(lin / 4096);
    const idx = key & TLB_MASK;
    if (this.tag[idx] === key && (this.perm[idx]! & need) === need) return this.phys[idx]! + (lin & 0xfff);
    return -1;
  }

  fill(lin: number, physPage: number, perm: number): void {
    const key = Math.floor(lin / 4096);
    const idx = key & TLB_MASK;
    this.tag[idx] = key;
    this.phys[idx] = physPage;
    this.perm[idx] = perm;
  }
}

/** The 48-bit linear address as a non-negative number (canonical addresses may be negative here). */
function lin48(lin: number): number {
  return lin < 0 ? lin + 2 ** 48 : lin;
}

/**
 * Walks the page tables for `lin` with `access` (ACCESS_* bits), sets accessed/dirty bits, fills the TLB and
 * returns the physical address; raises #PF (with CR2) when the access is not allowed.
 */
export function walk(cpu: Cpu, mem: PhysicalMemory, tlb: Tlb, lin: number, access: number): number {
  const write = (access & ACCESS_WRITE) !== 0;
  const user = (access & ACCESS_USER) !== 0;
  const fetch = (access & ACCESS_FETCH) !== 0;
  const nxe = (cpu.efer & EFER_NXE) !== 0;
  const wide = (cpu.cr4 & CR4_PAE) !== 0;
  let allowWrite = true;
  let allowUser = true;
  let allowExec = true;
  const pfError = (present: boolean, rsvd = false): never => {
    cpu.cr2 = lin;
    let code = (present ? PFEC_P : 0) | (write ? PFEC_W : 0) | (user ? PFEC_U : 0) | (rsvd ? PFEC_RSVD : 0);
    if (fetch && wide && nxe) code |= PFEC_I;
    return fault(PF_VECTOR, code);
  };

  // The entries of the walk, as physical addresses of their low halves, so A/D bits can be set at the end.
  const entries: number[] = [];
  let entryLo = 0;
  let entryHi = 0;
  let pageSize = 4096;

  const step = (table: number, index: number, wideEntry: boolean): boolean => {
    const at = wideEntry ? table + index * 8 : table + index * 4;
    entryLo = mem.readPhys32(at);
    entryHi = wideEntry ? mem.readPhys32(at + 4) : 0;
    entries.push(at);
    if (!(entryLo & PTE_P)) return false;
    if (entryHi & PTE_HI_RSVD) pfError(true, true);
    if (entryHi & PTE_HI_NX) {
      if (!nxe) pfError(true, true);
      allowExec = false;
    }
    if (!(entryLo & PTE_RW)) allowWrite = false;
    if (!(entryLo & PTE_US)) allowUser = false;
    return true;
  };
  const addrOf = (lo: number, hi: number, mask: number) => (hi & PTE_HI_ADDR) * TWO32 + ((lo & mask) >>> 0);

  if (cpu.efer & EFER_LMA) {
    const l = lin48(lin);
    let table = Math.floor(cpu.cr3 / 4096) * 4096;
    table = table % 2 ** 52;
    if (!step(table, Math.floor(l / 2 ** 39) & 0x1ff, true)) pfError(false);
    if (entryLo & PTE_PS) pfError(true, true); // PS is reserved in a PML4E
    if (!step(addrOf(entryLo, entryHi, 0xfffff000), Math.floor(l / 2 ** 30) & 0x1ff, true)) pfError(false);
    if (entryLo & PTE_PS) {
      if (entryLo & PDPTE_1G_RSVD) pfError(true, true);
      pageSize = 2 ** 30;
    } else {
      if (!step(addrOf(entryLo, entryHi, 0xfffff000), (l >>> 21) & 0x1ff, true)) pfError(false);
      if (entryLo & PTE_PS) {
        if (entryLo & PDE_2M_RSVD) pfError(true, true);
        pageSize = 2 ** 21;
      } else if (!step(addrOf(entryLo, entryHi, 0xfffff000), (l >>> 12) & 0x1ff, true)) pfError(false);
    }
  } else if (wide) {
    // PAE: the four PDPTEs carry no permission bits.
    const pdpte = (cpu.cr3 & 0xffffffe0) + ((lin >>> 30) & 3) * 8;
    const lo = mem.readPhys32(pdpte);
    const hi = mem.readPhys32(pdpte + 4);
    if (!(lo & PTE_P)) pfError(false);
    if (!step(addrOf(lo, hi, 0xfffff000), (lin >>> 21) & 0x1ff, true)) pfError(false);
    if (entryLo & PTE_PS) {
      if (entryLo & PDE_2M_RSVD) pfError(true, true);
      pageSize = 2 ** 21;
    } else if (!step(addrOf(entryLo, entryHi, 0xfffff000), (lin >>> 12) & 0x1ff, true)) pfError(false);
  } else {
    if (!step(cpu.cr3 & 0xfffff000, lin >>> 22, false)) pfError(false);
    if (entryLo & PTE_PS && cpu.cr4 & CR4_PSE) {
      if (entryLo & PDE_4M_RSVD) pfError(true, true);
      pageSize = 2 ** 22;
    } else if (!step(entryLo & 0xfffff000, (lin >>> 12) & 0x3ff, false)) pfError(false);
  }

  const supervisorWriteProtected = (cpu.cr0 & CR0_WP) !== 0;
  if (user && !allowUser) pfError(true);
  if (write && !allowWrite && (user || supervisorWriteProtected)) pfError(true);
  if (fetch && !allowExec) pfError(true);

  // Accessed on every level; dirty on the leaf for a write.
  const leaf = entries.length - 1;
  for (let i = 0; i < entries.length; i++) {
    const at = entries[i]!;
    const v = mem.readPhys32(at);
    const set = i === leaf && write ? PTE_A | PTE_D : PTE_A;
    if ((v & set) !== set) mem.writePhys32(at, v | set);
  }

  const pageMask = pageSize - 1;
  const frameLo = pageSize >= 2 ** 21 ? entryLo & ~(pageMask & 0xffffffff) & 0xffffe000 : entryLo & 0xfffff000;
  let frame = wide || cpu.efer & EFER_LMA ? (entryHi & PTE_HI_ADDR) * TWO32 + (frameLo >>> 0) : frameLo >>> 0;
  if (!wide && pageSize === 2 ** 22) frame = (entryLo & 0xffc00000) >>> 0;
  const offsetInPage = lin48(lin) % pageSize;
  const physical = frame + offsetInPage;

  let perm = 0;
  if (allowWrite || !supervisorWriteProtected) perm |= allowWrite ? TLB_WRITE : 0;
  if (allowUser) perm |= TLB_USER;
  if (allowExec) perm |= TLB_EXEC;
  if (write || mem.readPhys32(entries[leaf]!) & PTE_D) perm |= TLB_DIRTY;
  if (entryLo & PTE_G) perm |= TLB_GLOBAL;
  // Supervisor writes to read-only pages with CR0.WP clear are allowed but never cached as writable.
  const physPage = physical - (physical % 4096);
  tlb.fill(lin, physPage, perm);
  return physical;
}
