// What the main thread and a vCPU worker exchange.
import type { AccelName, IrqLinesHandle, VcpuHandle } from "../accel/accelerator.js";
import type { RegionHandle } from "../memory/guest_memory.js";
import type { DeviceConfig } from "./devices.js";
import type { StopReason } from "./vcpu_loop.js";

/** Counters from one run of a vCPU. */
export interface RunStats {
  /** Exits: completed KVM_RUN calls under KVM; port/MMIO accesses and stops under the emulator. */
  exits: number;
  /** Time spent in the run loop, in nanoseconds. */
  runNs: number;
  unclaimedReads: number;
  unclaimedWrites: number;
}

export interface VcpuWorkerData {
  accel: AccelName;
  vcpu: VcpuHandle;
  memory: RegionHandle[];
  /** VcpuControl cells, shared. */
  control: Int32Array;
  /** Rings of console bytes: from the guest, and to it. */
  consoleOut: SharedArrayBuffer;
  consoleIn: SharedArrayBuffer;
  devices: DeviceConfig;
  /** The VM's interrupt lines; absent without interrupt controllers. */
  irqLines: IrqLinesHandle | undefined;
  /** Under the emulator, the other vCPUs, which take turns with this one on its thread (emu/smp_group.ts). */
  siblings?: VcpuHandle[];
  /** With several vCPUs the devices live on the device host, reached through this mailbox. */
  remote?: { mailbox: Int32Array; doorbell: Int32Array };
  trace: boolean;
}

export interface DeviceWorkerData {
  devices: DeviceConfig;
  irqLines: IrqLinesHandle;
  mailboxes: Int32Array[];
  doorbell: Int32Array;
  consoleOut: SharedArrayBuffer;
  consoleIn: SharedArrayBuffer;
}

export type WorkerMessage =
  | { type: "device-stop"; reason: StopReason }
  | { type: "host-stopped" }
  | { type: "stopped"; reason: StopReason; stats: RunStats }
  | { type: "error"; message: string; stack: string };
