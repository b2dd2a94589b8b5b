// Two one-byte registers through which a PC guest resets itself, apart from the keyboard controller:
// System Control Port A at 0x92 (IBM PS/2, kept by every chipset since) and the Reset Control Register at
// 0xcf9 (Intel PIIX/ICH/PCH datasheets), which Linux tries in its reboot sequence. Each model calls
// `onReset` and leaves the reset itself to the VMM. Only byte accesses at offset 0 count; others read 0.
import type { BusDevice } from "../../bus/io_bus.js";

const REGISTER = 0;

// System Control Port A bits.
export const PORT_A_FAST_RESET = 0x01; // writing 1 pulses the CPU's INIT: a reset; it reads back 0
export const PORT_A_A20 = 0x02; // the A20 gate: 1 lets address bit 20 through

export interface SystemControlPortASnapshot {
  value: number;
}

export class SystemControlPortA implements BusDevice {
  /** A20 reads as enabled from the start: KVM never masks address bit 20, so that is the truth. */
  private value = PORT_A_A20;

  constructor(private readonly onReset: () => void) {}

  /** The A20 gate as the guest last set it. Only reported: guest memory is not remapped by it. */
  get a20Enabled(): boolean {
    return (this.value & PORT_A_A20) !== 0;
  }

  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    if (offset === REGISTER && data.length === 1) data[0] = this.value;
  }

  write(offset: number, data: Uint8Array): void {
    if (offset !== REGISTER || data.length !== 1) return;
    const value = data[0] as number;
    // The reset bit is a pulse, so it is never stored: every write of a 1 is a rising edge.
    this.value = value & ~PORT_A_FAST_RESET;
    if (value & PORT_A_FAST_RESET) this.onReset();
  }

  snapshot(): SystemControlPortASnapshot {
    return { value: this.value };
  }

  restore(s: SystemControlPortASnapshot): void {
    this.value = s.value & 0xff & ~PORT_A_FAST_RESET;
  }
}

// Reset Control Register bits.
export const RCR_SYS_RST = 0x02; // with RST_CPU: a hard reset (the platform too), not just the CPU
export const RCR_RST_CPU = 0x04; // a 0-to-1 transition starts the reset the other bits select
export const RCR_FULL_RST = 0x08; // with a hard reset: a full power cycle (no different for a VM)

export interface ResetControlRegisterSnapshot {
  value: number;
}

export class ResetControlRegister implements BusDevice {
  private value = 0;

  /** `onReset` is called for a soft and a hard reset alike; `hardReset` says which the guest asked for. */
  constructor(private readonly onReset: () => void) {}

  /** SYS_RST as last written: whether a reset through this register is a hard one. */
  get hardReset(): boolean {
    return (this.value & RCR_SYS_RST) !== 0;
  }

  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    if (offset === REGISTER && data.length === 1) data[0] = this.value;
  }

  write(offset: number, data: Uint8Array): void {
    // A wider access at 0xcf8 is the PCI configuration address, not this register.
    if (offset !== REGISTER || data.length !== 1) return;
    const value = data[0] as number;
    // RST_CPU is self-clearing, so every write that sets it is the 0-to-1 transition that resets. Linux
    // writes SYS_RST alone first, then SYS_RST | RST_CPU (| FULL_RST): only the second resets.
    this.value = value & ~RCR_RST_CPU;
    if (value & RCR_RST_CPU) this.onReset();
  }

  snapshot(): ResetControlRegisterSnapshot {
    return { value: this.value };
  }

  restore(s: ResetControlRegisterSnapshot): void {
    this.value = s.value & 0xff & ~RCR_RST_CPU;
  }
}
