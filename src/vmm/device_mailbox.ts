// With several vCPUs, the devices live in one thread (the device host) and each vCPU thread forwards its
// port and MMIO accesses there through a mailbox in shared memory: the vCPU writes the request, rings the
// doorbell and waits; the host serves every pending request and answers. Devices thus see one access at a
// time, from one thread, as they do with a single vCPU.
import type { AddressSpace, Bus } from "../bus/io_bus.js";

// Mailbox cells (one mailbox per vCPU).
const STATE = 0;
const SPACE = 1;
const ADDR_LO = 2;
const ADDR_HI = 3;
const SIZE = 4;
const WRITE = 5;
const UNCLAIMED = 6;
const DATA = 8; // two cells: up to 8 bytes of data
const MAILBOX_CELLS = 10;
const MAX_DATA = 8;

const IDLE = 0;
const REQUEST = 1;
const DONE = 2;

// Doorbell cells (one for the machine).
const RING = 0; // incremented for every request, and to wake the host for input or to stop
const HOST_STOP = 1;
const HOST_ALIVE = 2;
const DOORBELL_CELLS = 3;

/** How long a vCPU waits between checks that the host is still there. */
const WAIT_SLICE_MS = 100;

export class Doorbell {
  constructor(readonly cells: Int32Array = new Int32Array(new SharedArrayBuffer(DOORBELL_CELLS * 4))) {}

  ring(): void {
    Atomics.add(this.cells, RING, 1);
    Atomics.notify(this.cells, RING);
  }
  /** The host: the ring count, to wait on. */
  get count(): number {
    return Atomics.load(this.cells, RING);
  }
  waitForRing(seen: number, timeoutMs: number): void {
    Atomics.wait(this.cells, RING, seen, timeoutMs);
  }
  get stopRequested(): boolean {
    return Atomics.load(this.cells, HOST_STOP) !== 0;
  }
  requestStop(): void {
    Atomics.store(this.cells, HOST_STOP, 1);
    this.ring();
  }
  get hostAlive(): boolean {
    return Atomics.load(this.cells, HOST_ALIVE) !== 0;
  }
  set hostAlive(alive: boolean) {
    Atomics.store(this.cells, HOST_ALIVE, alive ? 1 : 0);
  }
}

export function createMailbox(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(MAILBOX_CELLS * 4));
}

/** The vCPU side: a Bus whose accesses are served by the device host. */
export class RemoteBus implements Bus {
  private readonly data: Uint8Array;
  unclaimedReads = 0;
  unclaimedWrites = 0;

  constructor(
    private readonly cells: Int32Array,
    private readonly doorbell: Doorbell,
  ) {
    this.data = new Uint8Array(cells.buffer, cells.byteOffset + DATA * 4, MAX_DATA);
  }

  read(space: AddressSpace, addr: number, data: Uint8Array): void {
    if (this.call(space, addr, data, false)) this.unclaimedReads++;
    data.set(this.data.subarray(0, data.length));
  }

  write(space: AddressSpace, addr: number, data: Uint8Array): void {
    this.data.set(data.subarray(0, MAX_DATA));
    if (this.call(space, addr, data, true)) this.unclaimedWrites++;
  }

  /** Returns whether nobody claimed the access. */
  private call(space: AddressSpace, addr: number, data: Uint8Array, write: boolean): boolean {
    const c = this.cells;
    c[SPACE] = space === "pio" ? 0 : 1;
    c[ADDR_LO] = addr % 2 ** 32;
    c[ADDR_HI] = Math.floor(addr / 2 ** 32);
    c[SIZE] = Math.min(data.length, MAX_DATA);
    c[WRITE] = write ? 1 : 0;
    Atomics.store(c, STATE, REQUEST);
    this.doorbell.ring();
    while (Atomics.load(c, STATE) !== DONE) {
      if (!this.doorbell.hostAlive) throw new Error("the device host thread is gone");
      Atomics.wait(c, STATE, REQUEST, WAIT_SLICE_MS);
    }
    Atomics.store(c, STATE, IDLE);
    return c[UNCLAIMED] !== 0;
  }
}

/** The host side: serves whatever requests are pending in the mailboxes; returns how many. */
export function serveMailboxes(mailboxes: readonly Int32Array[], bus: Bus & { unclaimedCount(): number }): number {
  let served = 0;
  for (const c of mailboxes) {
    if (Atomics.load(c, STATE) !== REQUEST) continue;
    const space: AddressSpace = c[SPACE] === 0 ? "pio" : "mmio";
    const addr = (c[ADDR_LO] as number) + (c[ADDR_HI] as number) * 2 ** 32;
    const data = new Uint8Array(c.buffer, c.byteOffset + DATA * 4, c[SIZE] as number);
    const before = bus.unclaimedCount();
    if (c[WRITE]) bus.write(space, addr, data);
    else bus.read(space, addr, data);
    c[UNCLAIMED] = bus.unclaimedCount() > before ? 1 : 0;
    Atomics.store(c, STATE, DONE);
    Atomics.notify(c, STATE);
    served++;
  }
  return served;
}
