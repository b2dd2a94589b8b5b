// Kicking a thread out of KVM_RUN: a signal makes the ioctl return EINTR. SIGUSR2 (SIGUSR1 belongs to Node's
// inspector), with one no-op handler for the process while any KVM accelerator is open: without a handler the
// signal would kill the process; with it, it only interrupts KVM_RUN.
import { getpid, gettid, tgkill } from "./sys.js";

const KICK_SIGNAL = 12;
const noop = () => {};

let handlerUsers = 0;

/** Installs the handler (main thread); pair with releaseKickHandler. */
export function holdKickHandler(): void {
  if (handlerUsers++ === 0) process.on("SIGUSR2", noop);
}

export function releaseKickHandler(): void {
  if (handlerUsers > 0 && --handlerUsers === 0) process.off("SIGUSR2", noop);
}

/** Signals thread `tid` of this process (0: nobody to signal). */
export function signalThread(tid: number): void {
  if (tid === 0) return;
  try {
    tgkill(getpid(), tid, KICK_SIGNAL);
  } catch {
    // The thread has just left: nothing to kick.
  }
}

let ownTid = 0;
/** This thread's id (one gettid per thread). */
export function currentThread(): number {
  ownTid ||= gettid();
  return ownTid;
}
