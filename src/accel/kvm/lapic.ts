// Local APIC setup at boot (Intel SDM vol. 3, 11.5.1 Local Vector Table): LINT0 delivers the 8259 PIC's
// interrupts (ExtINT) and LINT1 the NMI, as a PC's firmware wires them, so that a guest that enables its
// local APIC keeps receiving legacy interrupts.
import type { Vcpu } from "./vcpu.js";

const APIC_LVT_LINT0 = 0x350;
const APIC_LVT_LINT1 = 0x360;
const DELIVERY_MODE_SHIFT = 8;
const DELIVERY_MODE_MASK = 0x7 << DELIVERY_MODE_SHIFT;
const DELIVERY_MODE_NMI = 0x4 << DELIVERY_MODE_SHIFT;
const DELIVERY_MODE_EXTINT = 0x7 << DELIVERY_MODE_SHIFT;

function setDeliveryMode(state: Uint8Array, register: number, mode: number): void {
  const dv = new DataView(state.buffer, state.byteOffset, state.byteLength);
  const value = dv.getUint32(register, true);
  dv.setUint32(register, (value & ~DELIVERY_MODE_MASK) | mode, true);
}

export function setupLapicLints(vcpu: Vcpu): void {
  const state = vcpu.getLapic();
  setDeliveryMode(state, APIC_LVT_LINT0, DELIVERY_MODE_EXTINT);
  setDeliveryMode(state, APIC_LVT_LINT1, DELIVERY_MODE_NMI);
  vcpu.setLapic(state);
}
