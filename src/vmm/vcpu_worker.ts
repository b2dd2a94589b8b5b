// A vCPU's thread: rebuilds views of the vCPU, guest memory and devices from what the main thread sent,
// runs the loop, and reports why it stopped. Console bytes flow back through a shared ring.
import { writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import type { KvmRun } from "../kvm/run.js";
import { gettid } from "../kvm/sys.js";
import { Vcpu } from "../kvm/vcpu.js";
import { Vm } from "../kvm/vm.js";
import { GuestMemory } from "../memory/guest_memory.js";
import { ByteRing } from "./byte_ring.js";
import { buildBus } from "./devices.js";
import { formatExit } from "./trace.js";
import { runVcpu, StopFlag } from "./vcpu_loop.js";
import type { VcpuWorkerData, WorkerMessage } from "./worker_protocol.js";

const data = workerData as VcpuWorkerData;
const post = (m: WorkerMessage) => parentPort?.postMessage(m);

try {
  Atomics.store(data.tidCell, 0, gettid());
  const vcpu = Vcpu.fromHandle(data.vcpu);
  const memory = GuestMemory.fromHandles(data.memory);
  const consoleRing = new ByteRing(data.consoleRing);
  // A view of the VM for its interrupt lines (the main thread owns and closes the fd).
  const vm = data.vmFd === undefined ? undefined : new Vm(data.vmFd, 0);
  const pendingExit: { code: number | undefined } = { code: undefined };
  const bus = buildBus(data.devices, {
    consoleOutput: (byte) => consoleRing.pushByte(byte),
    requestExit: (code) => {
      pendingExit.code = code;
    },
    ...(vm && { setIrq: (gsi: number, level: boolean) => vm.irqLine(gsi, level) }),
  });
  const trace = data.trace ? (line: string) => writeSync(2, `${line}\n`) : undefined;
  let unclaimedSeen = 0;
  const traceExit = (run: KvmRun) => {
    const unclaimed = bus.unclaimedReads + bus.unclaimedWrites;
    const note = unclaimed > unclaimedSeen ? " (unclaimed)" : "";
    unclaimedSeen = unclaimed;
    trace?.(`${formatExit(vcpu, memory, run)}${note}`);
  };
  const counters = { exits: 0 };
  const started = process.hrtime.bigint();
  const reason = runVcpu(vcpu, bus, {
    stop: new StopFlag(data.stopCell),
    stats: counters,
    pendingExit,
    onExit: trace && traceExit,
  });
  const runNs = Number(process.hrtime.bigint() - started);
  const stats = {
    exits: counters.exits,
    runNs,
    unclaimedReads: bus.unclaimedReads,
    unclaimedWrites: bus.unclaimedWrites,
  };
  post({ type: "stopped", reason, stats });
} catch (e) {
  const err = e as Error;
  post({ type: "error", message: err.message, stack: err.stack ?? "" });
}
