// The interrupt command register (Intel SDM vol. 3, 11.6.1 and 11.12.9): how a written ICR becomes an IPI.
// In xAPIC mode the destination is bits 24-31 of the high dword; in x2APIC mode it is the whole high dword.
import {
  type ApicMessage,
  type ApicTarget,
  DeliveryMode,
  DestMode,
  type Shorthand,
  TriggerMode,
} from "./apic_message.js";
import { FIRST_VALID_VECTOR } from "./apic_registers.js";

const ICR_VECTOR = 0xff;
const ICR_DELIVERY_MODE_SHIFT = 8;
const ICR_DEST_LOGICAL = 1 << 11;
const ICR_LEVEL_ASSERT = 1 << 14;
const ICR_TRIGGER_LEVEL = 1 << 15;
const ICR_SHORTHAND_SHIFT = 18;
export const ICR_LOW_WRITABLE = 0xfff | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL | (3 << ICR_SHORTHAND_SHIFT);
const ICR_HIGH_XAPIC_DEST_SHIFT = 24;
/** x2APIC ICR bits that #GP when set (KVM's X2APIC_ICR_RESERVED_BITS): 13, 16-17, 20-31. */
export const ICR_X2APIC_RESERVED = 0xfff3_2000;

/** The IPI a write of the ICR's low dword sends; `source` is the sending APIC, for the shorthands. */
export function icrMessage(low: number, high: number, x2apic: boolean, source: ApicTarget): ApicMessage {
  return {
    vector: low & ICR_VECTOR,
    deliveryMode: ((low >>> ICR_DELIVERY_MODE_SHIFT) & 7) as DeliveryMode,
    destMode: low & ICR_DEST_LOGICAL ? DestMode.LOGICAL : DestMode.PHYSICAL,
    dest: x2apic ? high >>> 0 : high >>> ICR_HIGH_XAPIC_DEST_SHIFT,
    level: (low & ICR_LEVEL_ASSERT) !== 0,
    trigger: low & ICR_TRIGGER_LEVEL ? TriggerMode.LEVEL : TriggerMode.EDGE,
    shorthand: ((low >>> ICR_SHORTHAND_SHIFT) & 3) as Shorthand,
    source,
  };
}

/** Fixed and lowest-priority IPIs need a vector of 16 or more; the others carry none or a SIPI page. */
export function hasIllegalVector(msg: ApicMessage): boolean {
  return (
    (msg.deliveryMode === DeliveryMode.FIXED || msg.deliveryMode === DeliveryMode.LOWEST) &&
    msg.vector < FIRST_VALID_VECTOR
  );
}
