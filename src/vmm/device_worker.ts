// The device host: with several vCPUs, every device lives on this one thread and serves the vCPU threads'
// accesses through their mailboxes. It also takes console input, and tells the main thread when a device
// ends the run.
import { parentPort, workerData } from "node:worker_threads";
import { openIrqLines } from "../accel/open_vcpu.js";
import { ByteRing } from "./byte_ring.js";
import { Doorbell, serveMailboxes } from "./device_mailbox.js";
import { buildDevices } from "./devices.js";
import type { DeviceWorkerData, WorkerMessage } from "./worker_protocol.js";

/** Requests and console input ring the doorbell; this timeout is only a safety net. */
const IDLE_WAIT_MS = 1000;

const data = workerData as DeviceWorkerData;
const post = (m: WorkerMessage) => parentPort?.postMessage(m);
const doorbell = new Doorbell(data.doorbell);

try {
  const consoleOut = new ByteRing(data.consoleOut);
  const setIrq = await openIrqLines(data.irqLines);
  let stopping = false;
  const devices = buildDevices(data.devices, {
    consoleOutput: (byte) => consoleOut.pushByte(byte),
    consoleInput: new ByteRing(data.consoleIn),
    requestStop: (reason) => {
      if (stopping) return;
      stopping = true;
      post({ type: "device-stop", reason });
    },
    setIrq,
  });
  const bus = Object.assign(devices.bus, {
    unclaimedCount: () => devices.bus.unclaimedReads + devices.bus.unclaimedWrites,
  });
  while (!doorbell.stopRequested) {
    const seen = doorbell.count;
    serveMailboxes(data.mailboxes, bus);
    devices.pollInput();
    doorbell.waitForRing(seen, IDLE_WAIT_MS);
  }
  serveMailboxes(data.mailboxes, bus); // answer whoever is still waiting
  post({ type: "host-stopped" });
} catch (e) {
  const err = e as Error;
  post({ type: "error", message: err.message, stack: err.stack ?? "" });
} finally {
  doorbell.hostAlive = false;
}
