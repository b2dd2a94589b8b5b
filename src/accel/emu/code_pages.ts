// Which pages of guest RAM hold decoded code, shared by every emulated vCPU of a thread: a write to such a
// page, by any vCPU, a device or a loader, tells every vCPU's code cache to drop what it decoded there.
import type { GuestMemory } from "../../memory/guest_memory.js";

export class CodePages {
  /** One flag per 4 KiB page of low RAM. */
  readonly flags: Uint8Array;
  private readonly listeners: ((page: number) => void)[] = [];

  private constructor(ramSize: number) {
    this.flags = new Uint8Array(Math.ceil(ramSize / 4096));
  }

  private static readonly byMemory = new WeakMap<GuestMemory, CodePages>();

  /** The one instance for this view of guest memory; it also watches writes from outside the CPU. */
  static of(guest: GuestMemory, ramSize: number): CodePages {
    let pages = CodePages.byMemory.get(guest);
    if (!pages) {
      const created = new CodePages(ramSize);
      guest.writeObserver = (gpa, length) => {
        for (let page = Math.floor(gpa / 4096); page * 4096 < gpa + length; page++) {
          if (created.flags[page]) created.written(page);
        }
      };
      CodePages.byMemory.set(guest, created);
      pages = created;
    }
    return pages;
  }

  /** A code cache that drops its blocks of `page` when told. */
  listen(dropPage: (page: number) => void): void {
    this.listeners.push(dropPage);
  }

  /** A page holding code was written: every cache drops it. */
  written(page: number): void {
    for (const drop of this.listeners) drop(page);
    this.flags[page] = 0;
  }
}
