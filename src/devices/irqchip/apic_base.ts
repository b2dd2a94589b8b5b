// IA32_APIC_BASE (MSR 0x1b; Intel SDM vol. 3, 11.4.4 and 11.12.1): where the xAPIC page sits, whether the
// APIC is globally enabled, whether it is in x2APIC mode, and whether its CPU is the boot CPU. The mode
// transitions the SDM allows (11.12.5): disabled <-> xAPIC -> x2APIC -> disabled; the others #GP.
import {
  APIC_BASE_ADDR_MASK,
  APIC_BASE_BSP,
  APIC_BASE_ENABLE,
  APIC_BASE_EXTD,
  APIC_BASE_RESERVED,
  APIC_DEFAULT_BASE,
  ApicAccessFault,
} from "./apic_registers.js";

export type ApicMode = "disabled" | "xapic" | "x2apic";

const LOW_HALF = 0xffff_ffffn;

export class ApicBaseMsr {
  /** The low 32 bits (flags, base bits 12-31), and base bits 32-51 as a number. */
  private low = 0;
  private high = 0;

  constructor(
    private readonly bsp: boolean,
    private readonly x2apicSupported: boolean,
  ) {
    this.reset();
  }

  get mode(): ApicMode {
    if (!(this.low & APIC_BASE_ENABLE)) return "disabled";
    return this.low & APIC_BASE_EXTD ? "x2apic" : "xapic";
  }

  /** The MSR as RDMSR reads it. */
  get value(): bigint {
    return (BigInt(this.high) << 32n) | BigInt(this.low);
  }

  /** The physical address of the xAPIC page. */
  get address(): number {
    return this.high * 2 ** 32 + ((this.low & APIC_BASE_ADDR_MASK) >>> 0);
  }

  /** At power-on: enabled in xAPIC mode at 0xfee00000. */
  reset(): void {
    this.low = (APIC_DEFAULT_BASE | APIC_BASE_ENABLE | (this.bsp ? APIC_BASE_BSP : 0)) >>> 0;
    this.high = 0;
  }

  /**
   * WRMSR: stores the value and returns the mode left. Throws ApicAccessFault (#GP) for reserved bits, x2APIC
   * without CPUID support, and the forbidden transitions. The BSP bit is not the guest's to change.
   */
  write(value: bigint): ApicMode {
    if (value & APIC_BASE_RESERVED) throw new ApicAccessFault(`IA32_APIC_BASE reserved bits: 0x${value.toString(16)}`);
    const low = Number(value & LOW_HALF);
    const enable = (low & APIC_BASE_ENABLE) !== 0;
    const extd = (low & APIC_BASE_EXTD) !== 0;
    const from = this.mode;
    if (extd && (!enable || !this.x2apicSupported || from === "disabled")) {
      throw new ApicAccessFault("IA32_APIC_BASE: x2APIC mode is entered from xAPIC mode only");
    }
    if (from === "x2apic" && enable && !extd) throw new ApicAccessFault("IA32_APIC_BASE: x2APIC -> xAPIC");
    this.low = ((low & ~APIC_BASE_BSP) | (this.bsp ? APIC_BASE_BSP : 0)) >>> 0;
    this.high = Number(value >> 32n);
    return from;
  }
}
