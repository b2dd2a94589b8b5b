// The ACPI power management timer (ACPI 6.3, 4.8.3.3): a free-running 24-bit counter at 3.579545 MHz, read as
// one 32-bit port from the machine clock, starting at 0 when the model is made. It is read-only, and the FADT
// must announce it with TMR_VAL_EXT clear (24 bits). The overflow status (TMR_STS in PM1_STS) is the PM1
// event block's business; there is none yet.
import type { BusDevice } from "../../bus/io_bus.js";
import type { Clock } from "./clock.js";
import { ticksIn } from "./ticks.js";

/** The FADT's PM_TMR_BLK, as on QEMU's q35 (PM base 0x600 + 8); tsvmm's FADT announces none yet. */
export const PM_TIMER_PORT = 0x608;
/** PM_TMR_LEN: one 32-bit register. */
export const PM_TIMER_SIZE = 4;
/** A third of the NTSC color burst (14.31818 MHz / 4), as every PC has it. */
export const PM_TIMER_HZ = 3_579_545;
const COUNTER_MODULUS = 0x1000000; // 24 bits
const BITS_PER_BYTE = 8;

export class AcpiPmTimer implements BusDevice {
  private readonly originNs: number;

  constructor(private readonly clock: Clock) {
    this.originNs = clock.nowNs();
  }

  /** The counter now. */
  get value(): number {
    return ticksIn(this.clock.nowNs() - this.originNs, PM_TIMER_HZ) % COUNTER_MODULUS;
  }

  read(offset: number, data: Uint8Array): void {
    // Narrower reads see their bytes of the register; bits 24-31 read 0.
    const value = this.value;
    for (let i = 0; i < data.length; i++) {
      const byte = offset + i;
      data[i] = byte < PM_TIMER_SIZE ? (value >>> (byte * BITS_PER_BYTE)) & 0xff : 0;
    }
  }

  write(_offset: number, _data: Uint8Array): void {
    // Read-only.
  }
}
