// The worker side of the seam: what a vCPU or device thread rebuilds from the structured-cloneable handles
// the main thread sends. Each accelerator's code loads only when a handle names it.
import { GuestMemory, type RegionHandle } from "../memory/guest_memory.js";
import type { IrqLinesHandle, RunnableVcpu, VcpuHandle } from "./accelerator.js";

/** Guest memory in this thread: SharedArrayBuffers as they are, KVM's mappings through a view. */
export async function openGuestMemory(handles: readonly RegionHandle[]): Promise<GuestMemory> {
  if (handles.every((h) => h.shared)) return GuestMemory.fromHandles(handles);
  const { kvmMemoryFromHandles } = await import("./kvm/memory.js");
  return kvmMemoryFromHandles(handles);
}

/** The vCPU `handle` describes, runnable on this thread. */
export async function openVcpu(
  handle: VcpuHandle,
  memory: GuestMemory,
  siblings: readonly VcpuHandle[] = [],
): Promise<RunnableVcpu> {
  if (handle.accel === "kvm") {
    const { Vcpu } = await import("./kvm/vcpu.js");
    return Vcpu.fromHandle(handle);
  }
  const { openEmuVcpu } = await import("./emu/emu_runnable.js");
  if (siblings.length === 0) return openEmuVcpu(handle, memory);
  // Emulated vCPUs of one machine take turns on this thread.
  const { EmuSmpGroup } = await import("./emu/smp_group.js");
  const all = [handle, ...siblings].map((h) => {
    if (h.accel !== "emu") throw new Error("an emulated machine's vCPUs are all emulated");
    return openEmuVcpu(h, memory);
  });
  return new EmuSmpGroup(all);
}

/** Sets the level of one of the VM's interrupt lines (a GSI). */
export type SetIrq = (gsi: number, level: boolean) => void;

export async function openIrqLines(handle: IrqLinesHandle): Promise<SetIrq> {
  const { Vm } = await import("./kvm/vm.js");
  const vm = Vm.fromIrqLines(handle); // a view: the main thread owns and closes the fd
  return (gsi, level) => vm.irqLine(gsi, level);
}
