// Port I/O from the emulated CPU to the bus (IN, OUT, INS, OUTS), counted and traced as KVM's I/O exits are.
import type { AccessSink } from "./memory.js";

export class PortIo {
  private readonly buffers = [
    new Uint8Array(0),
    new Uint8Array(1),
    new Uint8Array(2),
    new Uint8Array(0),
    new Uint8Array(4),
  ];
  accesses = 0;
  /** Set when a device asked to end the run. */
  deviceStop = false;
  sink: AccessSink | undefined;

  read(port: number, size: number): number {
    const data = this.buffers[size]!;
    const sink = this.sink;
    if (!sink) return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    sink.bus.read("pio", port, data);
    this.done(port, false, data);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | data[i]!;
    return v >>> 0;
  }

  write(port: number, size: number, value: number): void {
    const data = this.buffers[size]!;
    for (let i = 0; i < size; i++) data[i] = (value >>> (8 * i)) & 0xff;
    const sink = this.sink;
    if (!sink) return;
    sink.bus.write("pio", port, data);
    this.done(port, true, data);
  }

  private done(port: number, write: boolean, data: Uint8Array): void {
    const sink = this.sink!;
    this.accesses++;
    sink.onAccess?.({ space: "pio", addr: port, write, data: data.slice() });
    if (sink.afterAccess()) this.deviceStop = true;
  }
}
