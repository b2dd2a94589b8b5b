// Console input on its way to a vCPU thread: bytes from a stream or the API go into a shared ring, and the
// vCPU is kicked so that its UART takes them. What does not fit waits here, and the stream is paused
// meanwhile, so a fast producer cannot outrun a slow guest.
import type { ByteRing } from "./byte_ring.js";

const RETRY_MS = 10;

export class InputPump {
  private backlog: Uint8Array[] = [];
  private stream: NodeJS.ReadableStream | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onData = (chunk: Buffer | string) => {
    this.send(typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk);
  };

  constructor(
    private readonly ring: ByteRing,
    private readonly kick: () => void,
  ) {}

  attach(stream: NodeJS.ReadableStream): void {
    this.stream = stream;
    stream.on("data", this.onData);
  }

  detach(): void {
    this.stream?.off("data", this.onData);
    this.stream?.pause();
    this.stream = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  send(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.backlog.push(bytes);
    this.flush();
  }

  private flush(): void {
    this.timer = undefined;
    let moved = false;
    while (this.backlog.length > 0) {
      const head = this.backlog[0] as Uint8Array;
      const n = this.ring.tryPush(head);
      if (n > 0) moved = true;
      if (n < head.length) {
        this.backlog[0] = head.subarray(n);
        break;
      }
      this.backlog.shift();
    }
    if (moved) this.kick();
    if (this.backlog.length > 0) {
      this.stream?.pause();
      this.timer ??= setTimeout(() => this.flush(), RETRY_MS);
    } else {
      this.stream?.resume();
    }
  }
}
