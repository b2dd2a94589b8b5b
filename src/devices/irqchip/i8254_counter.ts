// One counter of the Intel 8254 PIT (datasheet 231164). Nothing ticks: the counter keeps the input-clock tick
// at which its count was loaded, and its count and OUT follow from the number of ticks since then (`d`),
// per mode. The 8254 loads a written count on the next clock pulse; here it loads at once, as in QEMU.
// Rising edges of OUT that time alone produces (terminal counts, periods) are counted by `advance`, so that
// channel 0's owner can raise IRQ 0 for them however late it looks; edges caused by a register write or a
// gate change show in `output` straight away.

// Access modes (control word bits 5-4); 0 is the counter latch command.
export const ACCESS_LATCH = 0;
const ACCESS_LSB = 1;
const ACCESS_MSB = 2;
const ACCESS_WORD = 3; // LSB then MSB

// Control word fields below the counter select.
const CONTROL_ACCESS_SHIFT = 4;
const CONTROL_MODE_SHIFT = 1;
const CONTROL_MODE_MASK = 0x7;
const CONTROL_BCD = 0x01;

// Status byte (read-back command): OUT, null count, then bits 5-0 of the control word as programmed.
const STATUS_OUTPUT = 0x80;
const STATUS_NULL_COUNT = 0x40;
const STATUS_CONTROL_BITS = 0x3f;

const BINARY_MODULUS = 0x10000;
const BCD_MODULUS = 10000;
const BYTE = 0xff;
/** Modes 6 and 7 are 2 and 3 (the datasheet's "X10" and "X11"). */
const MODE_ALIAS_MASK = 0x3;

export class I8254Counter {
  private programmed = false;
  private mode = 0;
  /** The control word's access, mode and BCD bits as written, for the status byte. */
  private controlBits = 0;
  private bcd = false;
  private access = ACCESS_WORD;
  /** A count has been written since the control word. */
  private hasCount = false;
  /** The count register as written (raw bytes; BCD digits in BCD mode). */
  private countRegister = 0;
  /** N: the count the counting element runs from, 1 (2 in modes 2 and 3) to the modulus. */
  private period = 0;
  /** The counting element runs a loaded count (for modes 1 and 5: a triggered one). Until then it holds `held`. */
  private running = false;
  private held = 0;
  /** The tick at which d = 0. */
  private startTick = 0;
  /** d while the gate holds counting (modes 0, 2, 3 and 4). */
  private frozenD: number | undefined;
  /** Modes 2 and 3: a count written while running loads at the end of the current period, at d = switchD. */
  private nextPeriod: number | undefined;
  private switchD = 0;
  private nullCount = false;
  private gate: boolean;
  private writeMsbNext = false;
  private lsbWritten = 0;
  private readMsbNext = false;
  private latchedStatus: number | undefined;
  private latchedBytes: number[] = [];
  /** d when the edges were last counted, and the rising edges counted since `takeEdges`. */
  private lastD = 0;
  private edges = 0;

  /** A fresh counter is unprogrammed: OUT low, nothing counting (as KVM's PIT; the real part is undefined). */
  constructor(gate: boolean) {
    this.gate = gate;
  }

  /** Counts the rising edges of OUT up to `tick`; every other method expects it called first. */
  advance(tick: number): void {
    if (!this.running || this.frozenD !== undefined) return;
    let d = tick - this.startTick;
    if (this.nextPeriod !== undefined && d >= this.switchD) {
      this.edges += this.risingEdges(this.lastD, this.switchD);
      this.startTick += this.switchD;
      this.period = this.nextPeriod;
      this.nextPeriod = undefined;
      this.nullCount = false;
      this.lastD = 0;
      d = tick - this.startTick;
    }
    if (d > this.lastD) {
      this.edges += this.risingEdges(this.lastD, d);
      this.lastD = d;
    }
  }

  /** Rising edges counted by `advance` and not yet taken. */
  get edgesPending(): number {
    return this.edges;
  }

  /** Rising edges counted by `advance` since the last call. */
  takeEdges(): number {
    const edges = this.edges;
    this.edges = 0;
    return edges;
  }

  output(tick: number): boolean {
    return this.outputAt(this.d(tick));
  }

  /** The tick of OUT's next rising edge, if time alone brings one. */
  nextRisingTick(tick: number): number | undefined {
    if (!this.running || this.frozenD !== undefined) return undefined;
    const d = this.d(tick);
    const n = this.period;
    let next: number | undefined;
    if (this.periodic) next = (Math.floor(d / n) + 1) * n;
    else {
      const edge = this.mode === 0 || this.mode === 1 ? n : n + 1;
      if (d < edge) next = edge;
    }
    return next === undefined ? undefined : this.startTick + next;
  }

  /** A control word for this counter (not a latch command). */
  program(controlWord: number, tick: number): void {
    this.held = this.count(tick);
    this.programmed = true;
    this.controlBits = controlWord & STATUS_CONTROL_BITS;
    this.access = (controlWord >> CONTROL_ACCESS_SHIFT) & ACCESS_WORD;
    const mode = (controlWord >> CONTROL_MODE_SHIFT) & CONTROL_MODE_MASK;
    this.mode = mode > 5 ? mode & MODE_ALIAS_MASK : mode;
    this.bcd = (controlWord & CONTROL_BCD) !== 0;
    this.hasCount = false;
    this.running = false;
    this.frozenD = undefined;
    this.nextPeriod = undefined;
    this.nullCount = true;
    this.writeMsbNext = false;
    this.readMsbNext = false;
    this.latchedStatus = undefined;
    this.latchedBytes = [];
  }

  /** The counter latch command: the count is held for reading until read (a second latch is ignored). */
  latchCount(tick: number): void {
    if (this.latchedBytes.length > 0) return;
    const count = this.count(tick);
    if (this.access === ACCESS_LSB) this.latchedBytes = [count & BYTE];
    else if (this.access === ACCESS_MSB) this.latchedBytes = [count >> 8];
    else this.latchedBytes = [count & BYTE, count >> 8];
  }

  /** The read-back command's status latch: OUT, null count and the programmed control bits. */
  latchStatus(tick: number): void {
    if (this.latchedStatus !== undefined) return;
    this.latchedStatus =
      (this.output(tick) ? STATUS_OUTPUT : 0) | (this.nullCount ? STATUS_NULL_COUNT : 0) | this.controlBits;
  }

  /** A read of the counter's port: a latched status first, then a latched count, else the live count. */
  readByte(tick: number): number {
    if (this.latchedStatus !== undefined) {
      const status = this.latchedStatus;
      this.latchedStatus = undefined;
      return status;
    }
    const latched = this.latchedBytes.shift();
    if (latched !== undefined) return latched;
    const count = this.count(tick);
    if (this.access === ACCESS_LSB) return count & BYTE;
    if (this.access === ACCESS_MSB) return count >> 8;
    this.readMsbNext = !this.readMsbNext;
    return this.readMsbNext ? count & BYTE : count >> 8;
  }

  /** A write of the counter's port: a byte of the count, per the access mode. */
  writeByte(value: number, tick: number): void {
    if (this.access === ACCESS_LSB) this.writeCount(value, tick);
    else if (this.access === ACCESS_MSB) this.writeCount(value << 8, tick);
    else if (!this.writeMsbNext) {
      this.lsbWritten = value;
      this.writeMsbNext = true;
      // Mode 0: the first byte of a new count stops counting and sets OUT low.
      if (this.mode === 0 && this.running) {
        this.held = this.count(tick);
        this.running = false;
      }
    } else {
      this.writeMsbNext = false;
      this.writeCount(this.lsbWritten | (value << 8), tick);
    }
  }

  setGate(level: boolean, tick: number): void {
    if (level === this.gate) return;
    this.gate = level;
    switch (this.mode) {
      case 1:
      case 5:
        if (level && this.hasCount) this.load(tick); // a trigger, also while a one-shot runs
        break;
      case 2:
      case 3:
        if (!level) this.freeze(tick);
        else if (this.hasCount) this.load(tick); // counting restarts from the count register
        break;
      default:
        if (!level) this.freeze(tick);
        else if (this.running && this.frozenD !== undefined) {
          this.startTick = tick - this.frozenD;
          this.frozenD = undefined;
        }
        break;
    }
  }

  /** Modes 2 and 3: OUT repeats. */
  get periodic(): boolean {
    return this.mode === 2 || this.mode === 3;
  }

  get gateLevel(): boolean {
    return this.gate;
  }

  private writeCount(raw: number, tick: number): void {
    this.countRegister = raw;
    this.hasCount = true;
    this.nullCount = true;
    switch (this.mode) {
      case 1:
      case 5:
        break; // loaded by the next trigger
      case 2:
      case 3:
        if (this.running && this.frozenD === undefined) {
          // The current period runs out first (the datasheet loads mode 3 at the half-cycle; close enough).
          this.nextPeriod = this.periodOf(raw);
          this.switchD = (Math.floor(this.d(tick) / this.period) + 1) * this.period;
        } else this.load(tick);
        break;
      default:
        this.load(tick);
        break;
    }
  }

  private load(tick: number): void {
    this.period = this.periodOf(this.countRegister);
    this.running = true;
    this.nullCount = false;
    this.nextPeriod = undefined;
    this.startTick = tick;
    this.lastD = 0;
    // Modes 0 and 4 load with the gate low but count only once it rises; 1 and 5 do not look at the level.
    const gated = this.mode !== 1 && this.mode !== 5;
    this.frozenD = gated && !this.gate ? 0 : undefined;
  }

  private freeze(tick: number): void {
    if (this.running && this.frozenD === undefined) this.frozenD = this.d(tick);
  }

  private d(tick: number): number {
    return this.frozenD ?? tick - this.startTick;
  }

  private get modulus(): number {
    return this.bcd ? BCD_MODULUS : BINARY_MODULUS;
  }

  /** A written count as a number of ticks: 0 stands for the modulus. */
  private decode(raw: number): number {
    const value = this.bcd ? fromBcd(raw) : raw;
    return value === 0 ? this.modulus : value;
  }

  /** Modes 2 and 3 take a count of 1, which the datasheet calls illegal, as 2: OUT must go both ways. */
  private periodOf(raw: number): number {
    const n = this.decode(raw);
    return this.periodic ? Math.max(n, 2) : n;
  }

  private outputAt(d: number): boolean {
    // Before a count runs OUT is low in mode 0 and high in the others (and low if never programmed).
    if (!this.running) return this.programmed && this.mode !== 0;
    const n = this.period;
    switch (this.mode) {
      case 0:
      case 1:
        return d >= n; // mode 1: low from the trigger to the terminal count
      case 2:
        return !this.gate || d % n !== n - 1; // low for the one clock at count 1
      case 3:
        return !this.gate || d % n < (n + 1) >> 1; // high for the first (larger) half
      default:
        return d !== n; // modes 4 and 5: a one-clock strobe at count 0
    }
  }

  /** Rising edges of OUT in (from, to] with the count running. */
  private risingEdges(from: number, to: number): number {
    const n = this.period;
    if (this.periodic) return Math.floor(to / n) - Math.floor(from / n);
    const edge = this.mode === 0 || this.mode === 1 ? n : n + 1;
    return from < edge && edge <= to ? 1 : 0;
  }

  /** The counting element, as the guest reads it (BCD-encoded in BCD mode). */
  private count(tick: number): number {
    if (!this.running) return this.held;
    const d = this.d(tick);
    const n = this.period;
    const m = this.modulus;
    let value: number;
    if (this.mode === 2) value = n - (d % n);
    else if (this.mode === 3) {
      // Counts down by two from N (even) or N - 1 (odd), once in each half.
      const phase = d % n;
      const high = (n + 1) >> 1;
      value = (n & ~1) - 2 * (phase < high ? phase : phase - high);
    } else value = (((n - d) % m) + m) % m; // 0, 1, 4, 5: on through 0 and round again
    value %= m; // a full-modulus count reads as 0
    return this.bcd ? toBcd(value) : value;
  }
}

function fromBcd(raw: number): number {
  return ((raw >> 12) & 0xf) * 1000 + ((raw >> 8) & 0xf) * 100 + ((raw >> 4) & 0xf) * 10 + (raw & 0xf);
}

function toBcd(value: number): number {
  return (
    (Math.floor(value / 1000) << 12) |
    ((Math.floor(value / 100) % 10) << 8) |
    ((Math.floor(value / 10) % 10) << 4) |
    (value % 10)
  );
}
