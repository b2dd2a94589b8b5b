// A single-producer, single-consumer byte ring in a SharedArrayBuffer, for streams between a vCPU worker
// and the main thread. The producer blocks (Atomics.wait) when the ring is full, which paces a guest to
// its reader as a real UART's line speed would; the consumer waits asynchronously.

const WRITE = 0; // total bytes ever written
const READ = 1; // total bytes ever read
const HEADER_BYTES = 8;

export class ByteRing {
  private readonly index: Int32Array;
  private readonly data: Uint8Array;
  private readonly capacity: number;
  private readonly mask: number;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.index = new Int32Array(buffer, 0, 2);
    this.data = new Uint8Array(buffer, HEADER_BYTES);
    this.capacity = this.data.length;
    // A power-of-two capacity keeps `index & mask` right when the 32-bit counters wrap.
    if (this.capacity & (this.capacity - 1)) throw new RangeError("ByteRing capacity must be a power of two");
    this.mask = this.capacity - 1;
  }

  static create(capacity = 64 * 1024): ByteRing {
    return new ByteRing(new SharedArrayBuffer(HEADER_BYTES + capacity));
  }

  /** Producer: appends as many bytes as fit without waiting; returns how many. */
  tryPush(bytes: Uint8Array): number {
    const w = Atomics.load(this.index, WRITE);
    const r = Atomics.load(this.index, READ);
    const n = Math.min(this.capacity - ((w - r) | 0), bytes.length);
    if (n === 0) return 0;
    for (let i = 0; i < n; i++) this.data[(w + i) & this.mask] = bytes[i] as number;
    Atomics.store(this.index, WRITE, (w + n) | 0);
    Atomics.notify(this.index, WRITE);
    return n;
  }

  /** Producer: appends bytes, waiting for room while the ring is full (not on the main thread). */
  push(bytes: Uint8Array): void {
    let done = this.tryPush(bytes);
    while (done < bytes.length) {
      Atomics.wait(this.index, READ, Atomics.load(this.index, READ), 100);
      done += this.tryPush(bytes.subarray(done));
    }
  }

  pushByte(byte: number): void {
    this.push(Uint8Array.of(byte));
  }

  /** Bytes buffered for the consumer. */
  get available(): number {
    return (Atomics.load(this.index, WRITE) - Atomics.load(this.index, READ)) | 0;
  }

  /** Consumer: takes up to `max` buffered bytes (possibly none). */
  take(max: number): Uint8Array {
    const r = Atomics.load(this.index, READ);
    const n = Math.min(this.available, max);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.data[(r + i) & this.mask] as number;
    Atomics.store(this.index, READ, (r + n) | 0);
    Atomics.notify(this.index, READ);
    return out;
  }

  /** Consumer: takes everything buffered. */
  drain(): Uint8Array {
    return this.take(this.capacity);
  }

  /** Wakes a consumer blocked in waitForData (e.g. when the producer is gone). */
  wake(): void {
    Atomics.notify(this.index, WRITE);
  }

  /** Consumer: resolves when bytes may be available, on wake(), or after `timeoutMs`. Note that the wait alone
   * does not keep Node's event loop alive. */
  async waitForData(timeoutMs: number): Promise<void> {
    const w = Atomics.load(this.index, WRITE);
    if (w !== Atomics.load(this.index, READ)) return;
    const result = Atomics.waitAsync(this.index, WRITE, w, timeoutMs);
    if (result.async) await result.value;
  }
}
