// A vCPU's thread: rebuilds views of the vCPU, guest memory and devices from what the main thread sent,
// runs the loop, and reports why it stopped. Console bytes flow through shared rings; requests (stop,
// pause, probe) arrive through shared cells with a kick out of the vCPU's run.
import { writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import type { Access, VcpuExit } from "../accel/accelerator.js";
import { openGuestMemory, openIrqLines, openVcpu } from "../accel/open_vcpu.js";
import { RFLAGS_IF } from "../arch/x86/cpu_mode.js";
import { MpState } from "../arch/x86/cpu_state.js";
import { PcIrqChip } from "../devices/irqchip/pc_irqchip.js";
import { ByteRing } from "./byte_ring.js";
import { Doorbell, RemoteBus } from "./device_mailbox.js";
import { buildDevices, type DeviceConfig } from "./devices.js";
import { MachineClock, TSC_HZ } from "./machine_clock.js";
import { VcpuControl, VcpuState } from "./vcpu_control.js";
import { runVcpu, type StopReason } from "./vcpu_loop.js";
import type { VcpuWorkerData, WorkerMessage } from "./worker_protocol.js";

function remoteDevices(remote: NonNullable<VcpuWorkerData["remote"]>) {
  return { bus: new RemoteBus(remote.mailbox, new Doorbell(remote.doorbell)), pollInput: () => {} };
}

/** The PC's controllers and timers for an emulated machine, on the machine clock. */
function emulatedIrqChip(devices: DeviceConfig, clock: MachineClock): PcIrqChip {
  return new PcIrqChip({ clock, cpus: devices.cpus, tscHz: TSC_HZ, x2apic: devices.x2apic ?? true });
}

const data = workerData as VcpuWorkerData;
const post = (m: WorkerMessage) => parentPort?.postMessage(m);
const control = new VcpuControl(data.control);

try {
  control.state = VcpuState.RUNNING;
  const memory = await openGuestMemory(data.memory);
  const vcpu = await openVcpu(data.vcpu, memory, data.siblings);
  const consoleOut = new ByteRing(data.consoleOut);
  const consoleIn = new ByteRing(data.consoleIn);
  // Under the emulator the interrupt controllers and timers are models on this thread, beside the devices.
  const clock = new MachineClock(data.devices.clock ?? "host");
  const irqChip = data.accel === "emu" && data.devices.irqchip ? emulatedIrqChip(data.devices, clock) : undefined;
  if (irqChip) vcpu.attachIrqChip?.(irqChip, clock);
  const setIrq = irqChip
    ? (gsi: number, level: boolean) => irqChip.setIrq(gsi, level)
    : data.irqLines && (await openIrqLines(data.irqLines));
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
        ...(setIrq && { setIrq }),
        ...(irqChip && { irqChip }),
      });
  const { bus } = devices;

  /** Between runs, at the main thread's request: take input, answer a probe, wait out a pause. */
  const onKick = (): StopReason | undefined => {
    devices.pollInput();
    // KVM's irqchip keeps HLT in the kernel: a vCPU halted there with interrupts off is done for.
    if (control.takeProbe() && data.accel === "kvm") {
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
  const tracer = data.trace ? await import("./trace.js") : undefined;
  const trace = (line: string) => writeSync(2, `${line}\n`);
  let unclaimedSeen = 0;
  const traceAccess = (access: Access) => {
    const unclaimed = bus.unclaimedReads + bus.unclaimedWrites;
    const note = unclaimed > unclaimedSeen ? " (unclaimed)" : "";
    unclaimedSeen = unclaimed;
    if (tracer) trace(`${tracer.formatAccess(vcpu, memory, access)}${note}`);
  };
  const traceExit = (exit: VcpuExit) => {
    if (tracer) trace(tracer.formatExit(vcpu, memory, exit));
  };
  const counters = { exits: 0 };
  const started = process.hrtime.bigint();
  const reason = runVcpu(vcpu, bus, {
    stop: control.stop,
    kick: control.kickCell,
    stats: counters,
    pendingStop,
    onKick,
    ...(tracer && { onAccess: traceAccess, onExit: traceExit }),
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
