// The local APIC's interrupt acceptance state and priorities (Intel SDM vol. 3, 11.8): IRR, ISR and TMR, the
// task priority, and the processor and arbitration priorities derived from them. A vector is delivered only
// when its priority class (vector / 16) is above the processor priority's.
import { priorityClass, VectorSet } from "./apic_registers.js";

export class ApicPriority {
  readonly irr = new VectorSet();
  readonly isr = new VectorSet();
  readonly tmr = new VectorSet();
  tpr = 0;

  /** PPR (11.8.3.1): the TPR, or the class of the highest in-service vector if that is higher. */
  get ppr(): number {
    const isrv = Math.max(this.isr.highest(), 0);
    return priorityClass(this.tpr) >= priorityClass(isrv) ? this.tpr : isrv & 0xf0;
  }

  /** APR (11.6.2.4, P6 family): what lowest-priority arbitration compares. */
  get apr(): number {
    const tprClass = priorityClass(this.tpr);
    const irrClass = priorityClass(Math.max(this.irr.highest(), 0));
    const isrClass = priorityClass(Math.max(this.isr.highest(), 0));
    if (tprClass >= irrClass && tprClass > isrClass) return this.tpr;
    return Math.max(tprClass, irrClass, isrClass) << 4;
  }

  /** Accepts a vector into IRR; TMR records whether it was level-triggered (for the EOI broadcast). */
  request(vector: number, level: boolean): void {
    this.irr.set(vector);
    this.tmr.assign(vector, level);
  }

  /** The highest requested vector whose class is above the PPR's, or -1. */
  highestDeliverable(): number {
    const vector = this.irr.highest();
    if (vector < 0 || priorityClass(vector) <= priorityClass(this.ppr)) return -1;
    return vector;
  }

  /** Moves the highest deliverable vector from IRR to ISR and returns it, or -1. */
  acknowledge(): number {
    const vector = this.highestDeliverable();
    if (vector >= 0) {
      this.irr.clear(vector);
      this.isr.set(vector);
    }
    return vector;
  }

  /** EOI: clears the highest in-service vector and returns it, or -1 if none was in service. */
  retire(): number {
    const vector = this.isr.highest();
    if (vector >= 0) this.isr.clear(vector);
    return vector;
  }

  reset(): void {
    this.irr.reset();
    this.isr.reset();
    this.tmr.reset();
    this.tpr = 0;
  }
}
