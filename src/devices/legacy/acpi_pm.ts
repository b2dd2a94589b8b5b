// The ACPI PM1a event and control blocks (ACPI 6.3, 4.8.3.1 and 4.8.3.2), the fixed-hardware registers through
// which an OS powers the machine off: PM1a_EVT_BLK (PM1_STS, then PM1_EN; 2 bytes each) and PM1a_CNT_BLK
// (PM1_CNT, 2 bytes), at QEMU's q35 PM base (0x600) with the PM timer right after them (0x608,
// devices/irqchip/pm_timer.ts). Writing PM1_CNT with SLP_EN and the S5 sleep type the DSDT's \_S5 announces is
// a soft power-off: the model calls `onPowerOff` and leaves the rest to the VMM. Other sleep states are not
// entered (the write is dropped). No SMI command port exists, so the platform is always in ACPI mode: SCI_EN
// reads 1. No event raises the SCI: status bits are kept as the OS sets and clears them.
import type { BusDevice } from "../../bus/io_bus.js";

/** PM1a_EVT_BLK: PM1_STS at +0, PM1_EN at +2. */
export const ACPI_PM1A_EVT_PORT = 0x600;
export const ACPI_PM1_EVT_LEN = 4;
/** PM1a_CNT_BLK: PM1_CNT. */
export const ACPI_PM1A_CNT_PORT = 0x604;
export const ACPI_PM1_CNT_LEN = 2;
/** The two blocks as one device on the bus: 0x600-0x605 (0x606-0x607 read 0). */
export const ACPI_PM_PORT_COUNT = ACPI_PM1A_CNT_PORT + ACPI_PM1_CNT_LEN - ACPI_PM1A_EVT_PORT;

/** The sleep type value for S5 (soft off), as the DSDT's \_S5 package gives it (SLP_TYPa and SLP_TYPb). */
export const SLP_TYP_S5 = 5;

const PM1_STS = 0;
const PM1_EN = 2;
const PM1_CNT = ACPI_PM1A_CNT_PORT - ACPI_PM1A_EVT_PORT;
const REGISTER_SIZE = 2;

// PM1_CNT bits (table 4.16).
const SCI_EN = 1 << 0;
const SLP_TYP_SHIFT = 10;
const SLP_TYP_MASK = 0x7 << SLP_TYP_SHIFT;
const SLP_EN = 1 << 13; // write-only: starts the sleep
// PM1_STS: write 1 to clear (table 4.11); WAK_STS (bit 15) and the others alike.
const PM1_STS_WRITABLE = 0xffff;

export interface AcpiPmSnapshot {
  status: number;
  enable: number;
  control: number;
}

export class AcpiPm implements BusDevice {
  private status = 0;
  private enable = 0;
  private control = SCI_EN;

  constructor(private readonly onPowerOff: () => void) {}

  read(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const byte = offset + i;
      data[i] = (this.register(byte - (byte % REGISTER_SIZE)) >> ((byte % REGISTER_SIZE) * 8)) & 0xff;
    }
  }

  write(offset: number, data: Uint8Array): void {
    // Each register takes the bytes of the access that fall in it, as one write (a 16-bit access is the rule).
    for (const reg of [PM1_STS, PM1_EN, PM1_CNT]) {
      let value = this.register(reg);
      let touched = 0;
      for (let i = 0; i < data.length; i++) {
        const byte = offset + i - reg;
        if (byte < 0 || byte >= REGISTER_SIZE) continue;
        const shift = byte * 8;
        value = (value & ~(0xff << shift)) | ((data[i] as number) << shift);
        touched |= 0xff << shift;
      }
      if (touched) this.writeRegister(reg, value, touched);
    }
  }

  private register(reg: number): number {
    if (reg === PM1_STS) return this.status;
    if (reg === PM1_EN) return this.enable;
    if (reg === PM1_CNT) return this.control;
    return 0;
  }

  private writeRegister(reg: number, value: number, touched: number): void {
    if (reg === PM1_STS) this.status &= ~(value & touched & PM1_STS_WRITABLE);
    else if (reg === PM1_EN) this.enable = value & 0xffff;
    else if (reg === PM1_CNT) {
      // SCI_EN stays set; SLP_EN never reads back.
      this.control = (value & ~SLP_EN) | SCI_EN;
      if (value & SLP_EN && (value & SLP_TYP_MASK) >> SLP_TYP_SHIFT === SLP_TYP_S5) this.onPowerOff();
    }
  }

  snapshot(): AcpiPmSnapshot {
    return { status: this.status, enable: this.enable, control: this.control };
  }

  restore(s: AcpiPmSnapshot): void {
    this.status = s.status & 0xffff;
    this.enable = s.enable & 0xffff;
    this.control = (s.control & ~SLP_EN) | SCI_EN;
  }
}
