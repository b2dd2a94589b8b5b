// QEMU's isa-debug-exit device: a guest writes a value to it to end the VM with a status of its choosing,
// which is how test guests report pass or fail. The model only decodes the write and hands the value to
// `onExit`; turning it into a process status ((V << 1) | 1 in QEMU) and stopping the VM is the VMM's job.
import type { BusDevice } from "../../bus/io_bus.js";

/** The register: the only offset that ends the VM. */
const EXIT_REGISTER = 0;

/** The device has no state; the snapshot exists so every device can be saved the same way. */
export type DebugExitSnapshot = Record<string, never>;

export class DebugExit implements BusDevice {
  /** `onExit(value)` gets the written value, zero-extended: 1, 2 or 4 bytes, little-endian. */
  constructor(private readonly onExit: (value: number) => void) {}

  read(_offset: number, data: Uint8Array): void {
    data.fill(0); // write-only: reads return zeros
  }

  write(offset: number, data: Uint8Array): void {
    if (offset !== EXIT_REGISTER) return;
    // x86 port I/O has no 3-byte or 8-byte accesses; anything but 1, 2 or 4 bytes is not a real OUT.
    if (data.length !== 1 && data.length !== 2 && data.length !== 4) return;
    let value = 0;
    for (let i = data.length - 1; i >= 0; i--) value = value * 256 + (data[i] as number);
    this.onExit(value);
  }

  snapshot(): DebugExitSnapshot {
    return {};
  }

  restore(_s: DebugExitSnapshot): void {}
}
