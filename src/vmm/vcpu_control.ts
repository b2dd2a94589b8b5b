// The shared cells through which the main thread steers a vCPU thread and the thread reports back.
// The main thread writes a request and kicks the thread out of run(); the thread acts on it between runs.
import { StopFlag } from "./vcpu_loop.js";

const STOP = 0; // non-zero: leave the run loop (the StopFlag cell)
const PAUSE = 1; // non-zero: wait until cleared
const PROBE = 2; // non-zero: report whether the vCPU halted for good
const KICK = 3; // non-zero: return from run() (RunHooks.kick)
const STATE = 4; // VcpuState, written by the thread
const CELLS = 5;

export const VcpuState = { STARTING: 0, RUNNING: 1, PAUSED: 2, EXITED: 3 } as const;
export type VcpuStateValue = (typeof VcpuState)[keyof typeof VcpuState];

export class VcpuControl {
  readonly stop: StopFlag;
  /** The cell RunHooks.kick reads. */
  readonly kickCell: Int32Array;

  constructor(readonly cells: Int32Array = new Int32Array(new SharedArrayBuffer(CELLS * 4))) {
    this.stop = new StopFlag(cells.subarray(STOP, STOP + 1));
    this.kickCell = cells.subarray(KICK, KICK + 1);
  }

  /** Main thread: asks run() to return at its next chance (the accelerator may need telling too). */
  kick(): void {
    Atomics.store(this.cells, KICK, 1);
    // An emulated vCPU halted with nothing due sleeps on this cell (Atomics.wait): wake it now, not at the
    // end of its longest sleep.
    Atomics.notify(this.cells, KICK);
  }

  get state(): VcpuStateValue {
    return Atomics.load(this.cells, STATE) as VcpuStateValue;
  }
  set state(state: VcpuStateValue) {
    Atomics.store(this.cells, STATE, state);
    Atomics.notify(this.cells, STATE);
  }

  /** Main thread: resolves once the thread reports a state other than `from` (or after `timeoutMs`). */
  async waitWhileState(from: VcpuStateValue, timeoutMs: number): Promise<void> {
    const r = Atomics.waitAsync(this.cells, STATE, from, timeoutMs);
    if (r.async) await r.value;
  }

  get pauseRequested(): boolean {
    return Atomics.load(this.cells, PAUSE) !== 0;
  }
  set pauseRequested(on: boolean) {
    Atomics.store(this.cells, PAUSE, on ? 1 : 0);
    Atomics.notify(this.cells, PAUSE);
  }

  /** vCPU thread: blocks while a pause is requested and no stop is. */
  waitWhilePaused(): void {
    while (this.pauseRequested && !this.stop.requested) Atomics.wait(this.cells, PAUSE, 1, 100);
  }

  requestProbe(): void {
    Atomics.store(this.cells, PROBE, 1);
  }
  /** vCPU thread: whether a probe was asked for since the last call. */
  takeProbe(): boolean {
    return Atomics.exchange(this.cells, PROBE, 0) !== 0;
  }
}
