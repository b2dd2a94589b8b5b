// The port 0x80 POST-code register. Firmware writes progress codes here (and OSes write to it as a short
// I/O delay); on a real board they drive a diagnostic display. Many chipsets latch the last code and let it
// be read back, so this model does the same and nothing else: nothing is printed.
import type { BusDevice } from "../../bus/io_bus.js";

/** The register is one byte wide; a wider write latches its low byte (the byte at the port itself). */
const CODE_REGISTER = 0;

export interface PostCodeSnapshot {
  code: number;
}

export class PostCode implements BusDevice {
  private code = 0; // real chipsets power up with an undefined latch; 0 is a tidy stand-in

  /** The last code the guest wrote. */
  get lastCode(): number {
    return this.code;
  }

  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    if (offset === CODE_REGISTER && data.length > 0) data[0] = this.code;
  }

  write(offset: number, data: Uint8Array): void {
    if (offset === CODE_REGISTER && data.length > 0) this.code = data[0] as number;
  }

  snapshot(): PostCodeSnapshot {
    return { code: this.code };
  }

  restore(s: PostCodeSnapshot): void {
    this.code = s.code & 0xff;
  }
}
