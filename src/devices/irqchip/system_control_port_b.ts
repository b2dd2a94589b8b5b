// The PC/AT's system control port B at 0x61 (a PIIX/ICH NMI status and control register): channel 2 of the
// PIT gated and read back, the speaker enable, and the refresh toggle that old delay loops count. Bits 2 and 3
// (parity and channel check enables) are kept for the guest to read back; their errors never happen, so
// bits 6 and 7 read 0.
import type { BusDevice } from "../../bus/io_bus.js";
import type { Clock } from "./clock.js";
import { type I8254, PIT_SPEAKER_CHANNEL } from "./i8254.js";

export const PORT_B_PORT = 0x61;

const GATE2 = 0x01; // PIT channel 2's gate
const SPEAKER_DATA = 0x02; // the speaker follows channel 2's OUT when set
const WRITABLE = 0x0f;
const REFRESH_TOGGLE = 0x10;
const OUT2 = 0x20;
/** The refresh request toggles every 15.085 us (PIT channel 1 at count 18 on an AT); QEMU derives it the same way. */
const REFRESH_PERIOD_NS = 15_085;

export class SystemControlPortB implements BusDevice {
  private value = 0;

  constructor(
    private readonly pit: I8254,
    private readonly clock: Clock,
  ) {}

  /** The speaker sounds: its data bit is on and channel 2 runs (what is heard is channel 2's OUT). */
  get speakerEnabled(): boolean {
    return (this.value & (GATE2 | SPEAKER_DATA)) === (GATE2 | SPEAKER_DATA);
  }

  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    if (data.length !== 1 || offset !== 0) return;
    const refresh = Math.floor(this.clock.nowNs() / REFRESH_PERIOD_NS) & 1 ? REFRESH_TOGGLE : 0;
    data[0] = this.value | refresh | (this.pit.output(PIT_SPEAKER_CHANNEL) ? OUT2 : 0);
  }

  write(offset: number, data: Uint8Array): void {
    if (data.length !== 1 || offset !== 0) return;
    this.value = (data[0] as number) & WRITABLE;
    this.pit.setGate(PIT_SPEAKER_CHANNEL, (this.value & GATE2) !== 0);
  }
}
