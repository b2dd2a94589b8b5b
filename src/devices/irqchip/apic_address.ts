// How a local APIC is addressed (Intel SDM vol. 3, 11.6.2 and 11.12.10): its physical APIC ID and its logical
// ID with the destination format. In xAPIC mode software sets the ID (bits 24-31), the LDR (bits 24-31) and
// the DFR model (flat or cluster); in x2APIC mode the ID is the 32-bit initial APIC ID and the LDR is derived
// from it (cluster ID[19:4] in bits 16-31, one bit for ID[3:0]), both read-only.
import { DFR_MODEL_SHIFT, DFR_RESET, ID_XAPIC_SHIFT, LDR_XAPIC_MASK } from "./apic_registers.js";

const X2APIC_CLUSTER_SHIFT = 4;
const X2APIC_CLUSTER_MEMBERS = 0xf;
const X2APIC_LDR_CLUSTER_SHIFT = 16;
const DFR_WRITABLE = 0xf << DFR_MODEL_SHIFT;

export class ApicAddress {
  /** The ID register as read: bits 24-31 in xAPIC mode, the x2APIC ID in x2APIC mode. */
  id = 0;
  ldr = 0;
  dfr = DFR_RESET;
  private x2apic = false;

  constructor(private readonly initialId: number) {
    this.reset(false);
  }

  /** The ID routing compares: 8 bits in xAPIC mode, 32 in x2APIC mode. */
  get apicId(): number {
    return this.x2apic ? this.id : this.id >>> ID_XAPIC_SHIFT;
  }

  get dfrModel(): number {
    return this.dfr >>> DFR_MODEL_SHIFT;
  }

  /** xAPIC mode only: software may renumber the APICs. */
  writeId(value: number): void {
    this.id = (value & LDR_XAPIC_MASK) >>> 0;
  }

  writeLdr(value: number): void {
    this.ldr = (value & LDR_XAPIC_MASK) >>> 0;
  }

  writeDfr(value: number): void {
    this.dfr = (value | ~DFR_WRITABLE) >>> 0; // the other bits read as ones
  }

  /** Entering x2APIC mode: the ID and LDR become the x2APIC ones. */
  enterX2apic(): void {
    this.x2apic = true;
    this.id = this.initialId;
    this.ldr = this.x2apicLdr();
  }

  /**
   * Reset: the initial ID, LDR 0 and DFR all ones. An INIT (keepMode) keeps x2APIC mode and so the x2APIC
   * ID and LDR; a power-on reset or a global disable returns to xAPIC mode.
   */
  reset(keepMode: boolean): void {
    this.dfr = DFR_RESET;
    if (keepMode && this.x2apic) {
      this.ldr = this.x2apicLdr();
      return;
    }
    this.x2apic = false;
    this.id = (this.initialId << ID_XAPIC_SHIFT) >>> 0;
    this.ldr = 0;
  }

  private x2apicLdr(): number {
    const cluster = this.initialId >>> X2APIC_CLUSTER_SHIFT;
    return ((cluster << X2APIC_LDR_CLUSTER_SHIFT) | (1 << (this.initialId & X2APIC_CLUSTER_MEMBERS))) >>> 0;
  }
}
