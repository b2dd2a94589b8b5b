// A local APIC (Intel SDM vol. 3, chapter 11) for one vCPU, as a pure state machine: the guest reaches its
// registers through the xAPIC MMIO page (`read`/`write`; the owner maps it at `baseAddress`) or, in x2APIC
// mode, through MSRs (`readMsr`/`writeMsr`); interrupts arrive as messages (`accept`) and on the LINT pins
// (`setLint`), and leave as IPIs (`sendIpi`) and EOI broadcasts. The vCPU asks `hasPendingInterrupt`, takes
// one with `acknowledge`, and reads and clears the `pending*` events itself.
//
// Where the SDM leaves room, KVM's behaviour: the boot CPU's LINT0 comes out of reset unmasked in ExtINT mode
// (so the 8259 reaches a guest that never programs its APIC), ExtINT is taken before APIC vectors, and a
// software-disabled APIC drops fixed and lowest-priority messages but still takes NMI, SMI, INIT and SIPI.
import type { BusDevice } from "../../bus/io_bus.js";
import { ApicAddress } from "./apic_address.js";
import { ApicBaseMsr, type ApicMode } from "./apic_base.js";
import { hasIllegalVector, ICR_LOW_WRITABLE, icrMessage } from "./apic_icr.js";
import { LocalVectorTable } from "./apic_lvt.js";
import {
  type ApicMessage,
  type ApicTarget,
  DeliveryMode,
  deliverMessage,
  fixedMessage,
  Shorthand,
  TriggerMode,
} from "./apic_message.js";
import { ApicPriority } from "./apic_priority.js";
import {
  ESR_RECEIVE_ILLEGAL_VECTOR,
  ESR_SEND_ILLEGAL_VECTOR,
  FIRST_VALID_VECTOR,
  LVT_TIMER_MODE_SHIFT,
  LVT_VECTOR,
  REG_LVT_ERROR,
  REG_LVT_TIMER,
  SVR_ENABLE,
  SVR_RESET,
  SVR_VECTOR,
  SVR_WRITABLE,
} from "./apic_registers.js";
import { ApicTimer } from "./apic_timer.js";
import type { Clock } from "./clock.js";
import { readX2apicMsr, writeX2apicMsr } from "./x2apic_msr.js";
import { readXapicMmio, writeXapicMmio } from "./xapic_mmio.js";

export interface LocalApicConfig {
  /** The initial APIC ID: the vCPU index, as the MP table and MADT say. */
  id: number;
  clock: Clock;
  /** The TSC rate in Hz, for TSC-deadline mode (the TSC is apic_timer.ts's tscAt of the clock). */
  tscHz: number;
  /** The boot CPU (IA32_APIC_BASE bit 8); by default the APIC with ID 0. */
  bsp?: boolean;
  /** Whether x2APIC mode may be entered (CPUID.1:ECX bit 21); true by default. */
  x2apic?: boolean;
  /** Sends an IPI the ICR produced (self-IPIs never leave); by default it is delivered to this APIC alone. */
  sendIpi?: (msg: ApicMessage) => void;
  /** EOI of a level-triggered vector (its TMR bit set): the IOAPICs clear their Remote IRR. */
  eoiBroadcast?: (vector: number) => void;
  /** The 8259's interrupt acknowledge: the vector of an ExtINT interrupt. */
  extIntVector?: () => number;
  /** Something arrived that may wake a halted vCPU: an interrupt, NMI, INIT, SIPI or ExtINT. */
  wake?: () => void;
}

export class LocalApic implements BusDevice, ApicTarget {
  private readonly bsp: boolean;
  private readonly clock: Clock;
  private readonly sendIpi: (msg: ApicMessage) => void;
  private readonly eoiBroadcast: (vector: number) => void;
  private readonly extIntVector: () => number;
  private readonly wake: () => void;
  /** The timer; its `tscOffset` must follow the vCPU's TSC offset (IA32_TSC writes). */
  readonly timer: ApicTimer;
  /** IRR, ISR, TMR, TPR and the priorities derived from them. */
  readonly priority = new ApicPriority();
  readonly lvt: LocalVectorTable;

  private readonly baseMsr: ApicBaseMsr;
  /** The APIC ID, LDR and DFR. */
  readonly address: ApicAddress;
  private svrReg = SVR_RESET;
  private esrReg = 0;
  /** Errors since the last ESR write; the next write latches them into ESR (SDM 11.5.3). */
  private errorsSinceWrite = 0;
  private icrLow = 0;
  private icrHigh = 0;
  /** An ExtINT message (from an IOAPIC entry) awaits the 8259's vector. */
  private extIntRequested = false;

  /** An NMI arrived (message, LINT or LVT); the vCPU clears it when it delivers the NMI. */
  pendingNmi = false;
  /** An SMI arrived; tsvmm has no SMM, so it is only recorded. */
  pendingSmi = false;
  /** An INIT arrived; the vCPU resets itself and this APIC (`reset(true)`) and waits for a SIPI. */
  pendingInit = false;
  /** The vector of the last SIPI; a vCPU waiting for one starts at CS = vector << 8, IP = 0. */
  pendingSipiVector: number | undefined;

  constructor(config: LocalApicConfig) {
    this.address = new ApicAddress(config.id >>> 0);
    this.bsp = config.bsp ?? config.id === 0;
    this.baseMsr = new ApicBaseMsr(this.bsp, config.x2apic ?? true);
    this.clock = config.clock;
    this.sendIpi = config.sendIpi ?? ((msg) => deliverMessage(msg, [this]));
    this.eoiBroadcast = config.eoiBroadcast ?? (() => {});
    this.extIntVector = config.extIntVector ?? (() => SVR_RESET);
    this.wake = config.wake ?? (() => {});
    this.timer = new ApicTimer(config.clock, config.tscHz);
    this.lvt = new LocalVectorTable((mode, vector, level) => this.signalLocal(mode, vector, level));
    this.reset();
  }

  // ---- Mode and IA32_APIC_BASE ----

  get mode(): ApicMode {
    return this.baseMsr.mode;
  }

  get x2apic(): boolean {
    return this.baseMsr.mode === "x2apic";
  }

  get hardwareEnabled(): boolean {
    return this.baseMsr.mode !== "disabled";
  }

  get softwareEnabled(): boolean {
    return this.hardwareEnabled && (this.svrReg & SVR_ENABLE) !== 0;
  }

  /** IA32_APIC_BASE as RDMSR reads it. */
  get apicBase(): bigint {
    return this.baseMsr.value;
  }

  /** Where the xAPIC page is: the owner moves the MMIO range when this changes. */
  get baseAddress(): number {
    return this.baseMsr.address;
  }

  /** WRMSR IA32_APIC_BASE; throws ApicAccessFault (#GP) as apic_base.ts says. */
  setApicBase(value: bigint): void {
    this.poll(); // a timer due under the old mode fires under it
    const from = this.baseMsr.write(value);
    const to = this.baseMsr.mode;
    // A disabled APIC keeps nothing: it comes back as after reset, at the base just written.
    if (to === "disabled" && from !== "disabled") this.resetRegisters(false);
    else if (to === "x2apic" && from === "xapic") this.address.enterX2apic();
  }

  // ---- What the router and the vCPU read ----

  get apicId(): number {
    return this.address.apicId;
  }

  get ldr(): number {
    return this.address.ldr;
  }

  get dfrModel(): number {
    return this.address.dfrModel;
  }

  get arbitrationPriority(): number {
    return this.priority.apr;
  }

  /** TPR, 8 bits. */
  get tpr(): number {
    return this.priority.tpr;
  }

  set tpr(value: number) {
    this.priority.tpr = value & 0xff;
  }

  /** CR8 in 64-bit mode: TPR bits 7-4 (SDM 11.8.6). */
  get cr8(): number {
    return this.priority.tpr >>> 4;
  }

  set cr8(value: number) {
    this.priority.tpr = (value & 0xf) << 4;
  }

  // ---- Guest access ----

  read(offset: number, data: Uint8Array): void {
    readXapicMmio(this, offset, data);
  }

  write(offset: number, data: Uint8Array): void {
    writeXapicMmio(this, offset, data);
  }

  /** RDMSR of an x2APIC MSR (0x800-0x8ff); throws ApicAccessFault (#GP) where SDM table 11-6 says so. */
  readMsr(index: number): bigint {
    return readX2apicMsr(this, index);
  }

  /** WRMSR of an x2APIC MSR (0x800-0x8ff); throws ApicAccessFault (#GP) where SDM table 11-6 says so. */
  writeMsr(index: number, value: bigint): void {
    writeX2apicMsr(this, index, value);
  }

  /** IA32_TSC_DEADLINE (MSR 0x6e0) as read: 0 once the deadline has passed (the interrupt is then delivered). */
  get tscDeadline(): bigint {
    this.poll();
    return this.timer.tscDeadline;
  }

  /** WRMSR IA32_TSC_DEADLINE: arms the timer in TSC-deadline mode (0 disarms); ignored in other modes. */
  setTscDeadline(tsc: bigint): void {
    this.poll();
    this.timer.setTscDeadline(tsc);
  }

  // ---- Register semantics shared by the MMIO page and the MSRs ----

  get svr(): number {
    return this.svrReg;
  }

  writeSvr(value: number): void {
    this.poll();
    this.svrReg = value & SVR_WRITABLE;
    if (!(this.svrReg & SVR_ENABLE)) this.lvt.maskAll();
  }

  get esr(): number {
    return this.esrReg;
  }

  writeEsr(): void {
    this.esrReg = this.errorsSinceWrite;
    this.errorsSinceWrite = 0;
  }

  get icr(): { low: number; high: number } {
    return { low: this.icrLow, high: this.icrHigh };
  }

  writeIcrHigh(value: number): void {
    this.icrHigh = value >>> 0;
  }

  /** A write of the ICR's low dword sends the IPI (the destination, in the high dword, is written first). */
  writeIcrLow(value: number): void {
    this.icrLow = value & ICR_LOW_WRITABLE;
    const msg = icrMessage(value, this.icrHigh, this.x2apic, this);
    if (hasIllegalVector(msg)) this.error(ESR_SEND_ILLEGAL_VECTOR);
    else if (msg.shorthand === Shorthand.SELF) this.accept(msg);
    else this.sendIpi(msg);
  }

  /** The x2APIC self-IPI register: a fixed edge interrupt to this APIC. */
  selfIpi(vector: number): void {
    if (vector < FIRST_VALID_VECTOR) this.error(ESR_SEND_ILLEGAL_VECTOR);
    else this.accept(fixedMessage(vector, this.apicId));
  }

  writeLvt(reg: number, value: number): void {
    this.poll(); // a timer due under the old entry fires (or is lost to its mask) under it
    this.lvt.write(reg, value, this.softwareEnabled);
    if (reg === REG_LVT_TIMER) this.timer.setMode(this.lvt.get(reg) >>> LVT_TIMER_MODE_SHIFT);
  }

  writeTimerInitial(value: number): void {
    this.poll();
    this.timer.setInitialCount(value);
  }

  writeTimerDivide(value: number): void {
    this.timer.setDivideConfiguration(value);
  }

  /** EOI: retires the highest in-service vector; a level-triggered one is broadcast to the IOAPICs. */
  eoi(): void {
    const vector = this.priority.retire();
    if (vector < 0) return;
    this.lvt.eoi(vector);
    if (this.priority.tmr.has(vector)) this.eoiBroadcast(vector);
  }

  /** Records an error in ESR (visible after the next ESR write) and signals it through the error LVT. */
  error(bits: number): void {
    this.errorsSinceWrite |= bits;
    // An illegal vector in the error entry would be an error about the error interrupt: it is not sent.
    if ((this.lvt.get(REG_LVT_ERROR) & LVT_VECTOR) >= FIRST_VALID_VECTOR) this.lvt.fire(REG_LVT_ERROR);
  }

  // ---- Interrupt inputs ----

  /** Takes a message addressed to this APIC; returns whether it was accepted. */
  accept(msg: ApicMessage): boolean {
    if (!this.hardwareEnabled) return false;
    switch (msg.deliveryMode) {
      case DeliveryMode.FIXED:
      case DeliveryMode.LOWEST:
        return this.softwareEnabled && this.requestVector(msg.vector, msg.trigger === TriggerMode.LEVEL);
      case DeliveryMode.INIT:
        if (msg.trigger === TriggerMode.LEVEL && !msg.level) return true; // INIT level de-assert: no effect
        this.pendingInit = true;
        break;
      case DeliveryMode.STARTUP:
        this.pendingSipiVector = msg.vector;
        break;
      case DeliveryMode.EXTINT:
        this.extIntRequested = true;
        break;
      default:
        return this.signalLocal(msg.deliveryMode, msg.vector, false);
    }
    this.wake();
    return true;
  }

  /**
   * Drives LINT0 or LINT1 to an electrical level (true = high). With the APIC globally disabled they are the
   * CPU's INTR and NMI pins; otherwise their LVT entries decide (polarity, trigger, delivery mode, mask).
   */
  setLint(n: number, level: boolean): void {
    if (n !== 0 && n !== 1) throw new RangeError(`LINT${n}`);
    const rose = this.lvt.setLint(n, level, this.hardwareEnabled);
    if (!rose) return;
    if (!this.hardwareEnabled && n === 1) this.pendingNmi = true;
    if (!this.hardwareEnabled || (n === 0 && this.lvt.extIntAsserted())) this.wake();
  }

  /** Fires the timer if the clock has reached its deadline (the expiry of a masked timer is lost, as on hardware). */
  poll(): void {
    if (this.timer.nextDeadlineNs() === Number.POSITIVE_INFINITY) return;
    if (this.timer.expire(this.clock.nowNs()) && this.hardwareEnabled) this.lvt.fire(REG_LVT_TIMER);
  }

  /** When `poll` next has work: the timer's deadline in clock ns; Infinity when disarmed or masked. */
  nextDeadlineNs(): number {
    if (!this.hardwareEnabled || this.lvt.isMasked(REG_LVT_TIMER)) return Number.POSITIVE_INFINITY;
    return this.timer.nextDeadlineNs();
  }

  // ---- The vCPU's side ----

  /** ExtINT waits to be taken: the 8259 through LINT0 (or INTR, APIC disabled), or an ExtINT message. */
  get extIntPending(): boolean {
    if (!this.hardwareEnabled) return this.lvt.lintRaw(0);
    return this.extIntRequested || this.lvt.extIntAsserted();
  }

  /** The highest requested vector whose priority class is above the PPR's, or -1. */
  highestPendingVector(): number {
    return this.hardwareEnabled ? this.priority.highestDeliverable() : -1;
  }

  /** An external interrupt may be delivered (the vCPU still checks RFLAGS.IF and the interrupt shadow). */
  hasPendingInterrupt(): boolean {
    return this.extIntPending || this.highestPendingVector() >= 0;
  }

  /**
   * The interrupt acknowledge cycle: the vector to deliver now. ExtINT asks the 8259; otherwise the highest
   * deliverable vector moves from IRR to ISR, or, if none is left, the spurious vector (no ISR bit) comes back.
   */
  acknowledge(): number {
    if (this.extIntPending) {
      this.extIntRequested = false;
      return this.extIntVector() & 0xff;
    }
    const vector = this.hardwareEnabled ? this.priority.acknowledge() : -1;
    return vector >= 0 ? vector : this.svrReg & SVR_VECTOR;
  }

  /** Power-on reset, or the INIT reset, which keeps the APIC ID, IA32_APIC_BASE and so the mode (SDM 11.4.7.3). */
  reset(initEvent = false): void {
    if (!initEvent) {
      this.baseMsr.reset();
      this.pendingNmi = false;
      this.pendingSmi = false;
    }
    this.resetRegisters(initEvent);
  }

  // ---- Internals ----

  private resetRegisters(initEvent: boolean): void {
    this.priority.reset();
    this.address.reset(initEvent);
    this.svrReg = SVR_RESET;
    this.esrReg = 0;
    this.errorsSinceWrite = 0;
    this.icrLow = 0;
    this.icrHigh = 0;
    this.lvt.reset(this.bsp, initEvent);
    this.timer.reset();
    this.extIntRequested = false;
    this.pendingInit = false;
    this.pendingSipiVector = undefined;
  }

  /** An interrupt from this APIC's own sources (LVT entries) or an NMI/SMI message. */
  private signalLocal(mode: DeliveryMode, vector: number, level: boolean): boolean {
    switch (mode) {
      case DeliveryMode.FIXED:
        return this.requestVector(vector, level);
      case DeliveryMode.NMI:
        this.pendingNmi = true;
        break;
      case DeliveryMode.SMI:
        this.pendingSmi = true;
        break;
      case DeliveryMode.INIT:
        this.pendingInit = true;
        break;
      default:
        return false; // reserved delivery modes
    }
    this.wake();
    return true;
  }

  /** Sets a vector in IRR (and TMR for level triggers); vectors 0-15 are a receive error instead. */
  private requestVector(vector: number, level: boolean): boolean {
    if (vector < FIRST_VALID_VECTOR) {
      this.error(ESR_RECEIVE_ILLEGAL_VECTOR);
      return false;
    }
    this.priority.request(vector, level);
    this.wake();
    return true;
  }
}
