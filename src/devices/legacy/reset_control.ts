// Two one-byte registers through which a PC guest resets itself, apart from the keyboard controller:
// System Control Port A at 0x92 (IBM PS/2, kept by every chipset since) and the Reset Control Register at
// 0xcf9 (Intel PIIX/ICH/PCH datasheets), which Linux tries in its reboot sequence. Each model calls
// `onReset` and leaves the reset itself to the VMM. Only byte accesses at offset 0 count; others read 0.
import type { BusDevice } from "../../bus/io_bus.js";

const REGISTER = 0;

// System Control Port A bits.
export const PORT_A_FAST_RESET = 0x01; // writing 1 pulses the CPU's INIT: a reset; it reads back 0
export const PORT_A_A20 = 0x02; // the A20 gate: 1 lets address bit 20 through

// Reset Control Register bits.
export const RCR_SYS_RST = 0x02; // with RST_CPU: a hard reset (the platform too), not just the CPU
export const RCR_RST_CPU = 0x04; // a 0-to-1 transition starts the reset the other bits select
export const RCR_FULL_RST = 0x08; // with a hard reset: a full power cycle (no different for a VM)

export interface ResetRegisterSnapshot {
  value: number;
}
export type SystemControlPortASnapshot = ResetRegisterSnapshot;
export type ResetControlRegisterSnapshot = ResetRegisterSnapshot;

/**
 * A byte register with a self-clearing reset bit: every write that sets the bit is the rising edge that
 * resets, and the bit never reads back; the other bits are kept as written.
 */
class ResetRegister implements BusDevice {
  protected value: number;

  constructor(
    private readonly resetBit: number,
    initial: number,
    private readonly onReset: () => void,
  ) {
    this.value = initial;
  }

  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    if (offset === REGISTER && data.length === 1) data[0] = this.value;
  }

  write(offset: number, data: Uint8Array): void {
    // Wider accesses are not this register (at 0xcf8, a dword is the PCI configuration address).
    if (offset !== REGISTER || data.length !== 1) return;
    const value = data[0] as number;
    this.value = value & ~this.resetBit;
    if (value & this.resetBit) this.onReset();
  }

  snapshot(): ResetRegisterSnapshot {
    return { value: this.value };
  }

  restore(s: ResetRegisterSnapshot): void {
    this.value = s.value & 0xff & ~this.resetBit;
  }
}

export class SystemControlPortA extends ResetRegister {
  /** A20 reads as enabled from the start: KVM never masks address bit 20, so that is the truth. */
  constructor(onReset: () => void) {
    super(PORT_A_FAST_RESET, PORT_A_A20, onReset);
  }

  /** The A20 gate as the guest last set it. Only reported: guest memory is not remapped by it. */
  get a20Enabled(): boolean {
    return (this.value & PORT_A_A20) !== 0;
  }
}

/**
 * Linux writes SYS_RST alone first, then SYS_RST | RST_CPU (| FULL_RST): only the second resets. `onReset`
 * is called for a soft and a hard reset alike; `hardReset` says which the guest asked for.
 */
export class ResetControlRegister extends ResetRegister {
  constructor(onReset: () => void) {
    super(RCR_RST_CPU, 0, onReset);
  }

  /** SYS_RST as last written: whether a reset through this register is a hard one. */
  get hardReset(): boolean {
    return (this.value & RCR_SYS_RST) !== 0;
  }
}
