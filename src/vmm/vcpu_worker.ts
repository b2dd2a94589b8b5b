// A vCPU's thread: rebuilds views of the vCPU, guest memory and devices from what the main thread sent,
// runs the loop, and reports why it stopped. Console bytes flow through shared rings; requests (stop,
// pause, probe) arrive through shared cells with a kick out of KVM_RUN.
import { writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { RFLAGS_IF } from "../arch/x86/cpu_mode.js";
import { ExitReason, type KvmRun } from "../kvm/run.js";
import { MpState } from "../kvm/structs.js";
import { gettid } from "../kvm/sys.js";
import { Vcpu } from "../kvm/vcpu.js";
import { Vm } from "../kvm/vm.js";
import { GuestMemory } from "../memory/guest_memory.js";
import { ByteRing } from "./byte_ring.js";
import { Doorbell, RemoteBus } from "./device_mailbox.js";
import { buildDevices } from "./devices.js";
import { VcpuControl, VcpuState } from "./vcpu_control.js";
import { runVcpu, type StopReason } from "./vcpu_loop.js";
import type { VcpuWorkerData, WorkerMessage } from "./worker_protocol.js";

function remoteDevices(remote: NonNullable<VcpuWorkerData["remote"]>) {
  return { bus: new RemoteBus(remote.mailbox, new Doorbell(remote.doorbell)), pollInput: () => {} };
}

const data = workerData as VcpuWorkerData;
const post = (m: WorkerMessage) => parentPort?.postMessage(m);
const control = new VcpuControl(data.control);

try {
  control.tid = gettid();
  control.state = VcpuState.RUNNING;
  const vcpu = Vcpu.fromHandle(data.vcpu);
  const memory = GuestMemory.fromHandles(data.memory);
  const consoleOut = new ByteRing(data.consoleOut);
  const consoleIn = new ByteRing(data.consoleIn);
  // A view of the VM for its interrupt lines (the main thread owns and closes the fd).
  const vm = data.vmFd === undefined ? undefined : new Vm(data.vmFd, 0);
  const pendingStop: { reason: StopReason | undefined } = { reason: undefined };
  // One vCPU owns the devices; with several, they live on the device host and this thread forwards to it.
  const devices = data.remote
    ? remoteDevices(data.remote)
    : buildDevices(data.devices, {
        consoleOutput: (byte) => consoleOut.pushByte(byte),
        consoleInput: consoleIn,
        requestStop: (reason) => {
          pendingStop.reason ??= reason;
        },
        ...(vm && { setIrq: (gsi: number, level: boolean) => vm.irqLine(gsi, level) }),
      });
  const { bus } = devices;

  /** Between runs, at the main thread's request: take input, answer a probe, wait out a pause. */
  const onKick = (): StopReason | undefined => {
    devices.pollInput();
    if (control.takeProbe()) {
      // With the in-kernel irqchip HLT never reaches us: a vCPU halted with interrupts off is done for.
      const halted = vcpu.getMpState() === MpState.HALTED && (vcpu.getRegs().rflags & RFLAGS_IF) === 0n;
      if (halted) return { kind: "halt" };
    }
    if (control.pauseRequested) {
      control.state = VcpuState.PAUSED;
      control.waitWhilePaused();
      control.state = VcpuState.RUNNING;
    }
    return undefined;
  };

  // The tracer (and its disassembler) loads only when asked for: an idle vCPU thread stays small.
  const formatExit = data.trace ? (await import("./trace.js")).formatExit : undefined;
  const trace = formatExit ? (line: string) => writeSync(2, `${line}\n`) : undefined;
  let unclaimedSeen = 0;
  const traceExit = (run: KvmRun) => {
    if (run.exitReason === ExitReason.INTR) return;
    const unclaimed = bus.unclaimedReads + bus.unclaimedWrites;
    const note = unclaimed > unclaimedSeen ? " (unclaimed)" : "";
    unclaimedSeen = unclaimed;
    if (formatExit) trace?.(`${formatExit(vcpu, memory, run)}${note}`);
  };
  const counters = { exits: 0 };
  const started = process.hrtime.bigint();
  const reason = runVcpu(vcpu, bus, {
    stop: control.stop,
    stats: counters,
    pendingStop,
    onKick,
    onExit: trace && traceExit,
  });
  const runNs = Number(process.hrtime.bigint() - started);
  const stats = {
    exits: counters.exits,
    runNs,
    unclaimedReads: bus.unclaimedReads,
    unclaimedWrites: bus.unclaimedWrites,
  };
  control.state = VcpuState.EXITED;
  post({ type: "stopped", reason, stats });
} catch (e) {
  control.state = VcpuState.EXITED;
  const err = e as Error;
  post({ type: "error", message: err.message, stack: err.stack ?? "" });
}
