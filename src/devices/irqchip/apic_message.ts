// The interrupt message of the APIC architecture (Intel SDM vol. 3, 11.6 and 11.11): what an IOAPIC
// redirection entry, a local APIC's ICR and an MSI all produce, and the router that finds which local APICs
// accept one. Delivery is instantaneous: there is no APIC bus, so no delivery-status or retry state.

export enum DeliveryMode {
  FIXED = 0,
  LOWEST = 1,
  SMI = 2,
  NMI = 4,
  INIT = 5,
  STARTUP = 6,
  EXTINT = 7,
}

export enum DestMode {
  PHYSICAL = 0,
  LOGICAL = 1,
}

export enum TriggerMode {
  EDGE = 0,
  LEVEL = 1,
}

/** The ICR's destination shorthand (bits 18-19); IOAPIC and MSI messages always use NONE. */
export enum Shorthand {
  NONE = 0,
  SELF = 1,
  ALL = 2,
  ALL_BUT_SELF = 3,
}

/** Physical destination 0xff is every xAPIC; in x2APIC mode destinations are 32 bits and 0xffffffff is every one. */
export const XAPIC_BROADCAST = 0xff;
export const X2APIC_BROADCAST = 0xffffffff;

/** The flat and cluster logical models of the xAPIC's DFR (bits 28-31). */
export const DFR_MODEL_FLAT = 0xf;
export const DFR_MODEL_CLUSTER = 0x0;

export interface ApicMessage {
  vector: number;
  deliveryMode: DeliveryMode;
  destMode: DestMode;
  /** An APIC ID (physical) or a message destination address (logical); 8 bits from an IOAPIC or xAPIC. */
  dest: number;
  /** Assert (true) or de-assert; only an INIT with level trigger is ever sent de-asserted. */
  level: boolean;
  trigger: TriggerMode;
  /** Only ICR messages use shorthands; they name `source` as the sender. */
  shorthand?: Shorthand;
  source?: ApicTarget;
}

/** What the router needs of a local APIC (LocalApic implements it). */
export interface ApicTarget {
  /** The APIC ID as routing sees it: 8 bits in xAPIC mode, 32 in x2APIC mode. */
  readonly apicId: number;
  /** The logical destination register (LDR) as read. */
  readonly ldr: number;
  /** The DFR model (DFR_MODEL_FLAT or DFR_MODEL_CLUSTER); unused in x2APIC mode. */
  readonly dfrModel: number;
  readonly x2apic: boolean;
  /** Globally enabled (IA32_APIC_BASE) and software enabled (SVR): may take fixed and lowest-priority messages. */
  readonly softwareEnabled: boolean;
  /** Globally enabled: accepts any message at all. */
  readonly hardwareEnabled: boolean;
  /** The arbitration priority (APR) that lowest-priority delivery compares. */
  readonly arbitrationPriority: number;
  /** Takes a message this APIC is a destination of; returns whether it was accepted. */
  accept(msg: ApicMessage): boolean;
}

/** An edge-triggered fixed message: what self-IPIs, MSIs and most IPIs are. */
export function fixedMessage(vector: number, dest: number, destMode = DestMode.PHYSICAL): ApicMessage {
  return { vector, deliveryMode: DeliveryMode.FIXED, destMode, dest, level: true, trigger: TriggerMode.EDGE };
}

function matchesPhysical(target: ApicTarget, dest: number): boolean {
  if (target.x2apic) return dest === X2APIC_BROADCAST || dest === target.apicId;
  const d = dest & 0xff;
  return d === XAPIC_BROADCAST || d === target.apicId;
}

function matchesLogical(target: ApicTarget, dest: number): boolean {
  const ldr = target.ldr;
  if (target.x2apic) {
    // x2APIC: cluster in bits 16-31, a bitmap of 16 members in bits 0-15 (SDM 11.12.10.2).
    if (dest === X2APIC_BROADCAST) return true;
    return ldr >>> 16 === dest >>> 16 && (ldr & dest & 0xffff) !== 0;
  }
  const mda = dest & 0xff;
  const logicalId = ldr >>> 24;
  if (target.dfrModel === DFR_MODEL_FLAT) return (logicalId & mda) !== 0;
  // Cluster: cluster in the high nibble, a bitmap of 4 members in the low one; all ones is every APIC.
  if (mda === XAPIC_BROADCAST) return true;
  return logicalId >>> 4 === mda >>> 4 && (logicalId & mda & 0xf) !== 0;
}

/** Whether `target` is one of the message's destinations (before lowest-priority arbitration). */
export function isDestination(msg: ApicMessage, target: ApicTarget): boolean {
  switch (msg.shorthand ?? Shorthand.NONE) {
    case Shorthand.SELF:
      return target === msg.source;
    case Shorthand.ALL:
      return true;
    case Shorthand.ALL_BUT_SELF:
      return target !== msg.source;
    default:
      return msg.destMode === DestMode.LOGICAL ? matchesLogical(target, msg.dest) : matchesPhysical(target, msg.dest);
  }
}

/**
 * Delivers a message to the local APICs it names and returns whether any accepted it. Lowest-priority
 * messages go to the one destination with the lowest arbitration priority among those software enabled
 * (ties to the first in `lapics`, i.e. the lowest vCPU index); focus-processor checking is not modelled, as on
 * the Pentium 4 and later, and KVM.
 */
export function deliverMessage(msg: ApicMessage, lapics: readonly ApicTarget[]): boolean {
  if (msg.deliveryMode === DeliveryMode.LOWEST) {
    let chosen: ApicTarget | undefined;
    for (const lapic of lapics) {
      if (!lapic.softwareEnabled || !isDestination(msg, lapic)) continue;
      if (chosen === undefined || lapic.arbitrationPriority < chosen.arbitrationPriority) chosen = lapic;
    }
    return chosen?.accept(msg) ?? false;
  }
  let accepted = false;
  for (const lapic of lapics) {
    if (lapic.hardwareEnabled && isDestination(msg, lapic) && lapic.accept(msg)) accepted = true;
  }
  return accepted;
}
