// The run loop on the main thread with test devices, in the manner of kvm-ioctls' test_run_code, on every
// accelerator through the seam alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AccelName, AccelVcpu, RunnableVcpu } from "../src/accel/accelerator.js";
import { openAccelerator } from "../src/accel/open.js";
import { openVcpu } from "../src/accel/open_vcpu.js";
import { realModeEntry, zeroRegs } from "../src/arch/x86/regs.js";
import { type BusDevice, IoBus } from "../src/bus/io_bus.js";
import { SEED_CODE } from "../src/guests/seed.js";
import { runVcpu, StopFlag } from "../src/vmm/vcpu_loop.js";
import { assembleFlat } from "./helpers/assemble.js";
import { accelerators } from "./helpers/kvm.js";

const LOAD = 0x1000;

/** A VM with 64 KiB of RAM at 0, `code` at 0x1000, one vCPU in real mode there, runnable on this thread. */
async function withGuest<T>(
  accel: AccelName,
  code: Uint8Array,
  body: (g: { vcpu: AccelVcpu; runnable: RunnableVcpu }) => T,
): Promise<T> {
  const accelerator = openAccelerator(accel);
  const memory = accelerator.createMemory([{ gpa: 0, size: 0x10000 }]);
  const vm = accelerator.createVm(memory, { irqchip: false });
  try {
    memory.write(LOAD, code);
    const vcpu = vm.createVcpu(0);
    const sregs = vcpu.getSregs();
    const regs = zeroRegs();
    realModeEntry(sregs, regs, LOAD);
    vcpu.setSregs(sregs);
    vcpu.setRegs(regs);
    const runnable = await openVcpu(vcpu.handle, memory);
    return body({ vcpu, runnable });
  } finally {
    vm.close();
    memory.close();
    accelerator.close();
  }
}

interface Access {
  offset: number;
  data: number[];
}

class RecordingDevice implements BusDevice {
  reads: Access[] = [];
  writes: Access[] = [];
  constructor(private readonly value: number[]) {}
  read(offset: number, data: Uint8Array): void {
    data.set(this.value.slice(0, data.length));
    this.reads.push({ offset, data: [...data] });
  }
  write(offset: number, data: Uint8Array): void {
    this.writes.push({ offset, data: [...data] });
  }
}

for (const accel of accelerators()) {
  test(`IN from a device's port lands in AL; MMIO beyond RAM reaches the device with address, size and data [${accel}]`, async () => {
    await withGuest(accel, assembleFlat({ file: "in_mmio.S" }), ({ vcpu, runnable }) => {
      const bus = new IoBus();
      const port = new RecordingDevice([0x42]);
      const mmio = new RecordingDevice([0xef, 0xbe]);
      bus.registerPio(0x60, 4, port, "test-port");
      bus.registerMmio(0x20000, 0x1000, mmio, "test-mmio");
      const reason = runVcpu(runnable, bus, { stop: new StopFlag() });
      assert.deepEqual(reason, { kind: "halt" });
      assert.deepEqual(port.reads, [{ offset: 1, data: [0x42] }]);
      assert.deepEqual(mmio.writes, [{ offset: 0x10, data: [0x5a] }]);
      assert.deepEqual(mmio.reads, [{ offset: 0x20, data: [0xef, 0xbe] }]);
      const regs = vcpu.getRegs();
      assert.equal(regs.rax & 0xffn, 0x42n);
      assert.equal(regs.rcx & 0xffffn, 0xbeefn);
    });
  });

  test(`unclaimed accesses: writes are dropped and counted, reads return all ones [${accel}]`, async () => {
    await withGuest(accel, assembleFlat({ file: "unclaimed.S" }), ({ vcpu, runnable }) => {
      const bus = new IoBus();
      const seen: string[] = [];
      bus.onUnclaimed = (a) => seen.push(`${a.write ? "w" : "r"} 0x${a.addr.toString(16)}`);
      assert.deepEqual(runVcpu(runnable, bus, { stop: new StopFlag() }), { kind: "halt" });
      assert.equal(bus.unclaimedWrites, 1);
      assert.equal(bus.unclaimedReads, 1);
      assert.deepEqual(seen, ["w 0x99", "r 0x9a"]);
      assert.equal(vcpu.getRegs().rax & 0xffn, 0xffn);
    });
  });

  test(`every access reaches onAccess as it completes; a device's stop ends the run after it [${accel}]`, async () => {
    await withGuest(accel, assembleFlat({ file: "unclaimed.S" }), ({ runnable }) => {
      const bus = new IoBus();
      const accesses: string[] = [];
      const pendingStop: { reason: { kind: "exit"; code: number } | undefined } = { reason: undefined };
      const reason = runVcpu(runnable, bus, {
        stop: new StopFlag(),
        pendingStop,
        onAccess: (a) => {
          accesses.push(`${a.space} ${a.write ? "w" : "r"} 0x${a.addr.toString(16)} [${[...a.data]}]`);
          pendingStop.reason = { kind: "exit", code: 3 }; // the first access stops the VM
        },
      });
      assert.deepEqual(reason, { kind: "exit", code: 3 });
      assert.deepEqual(accesses, ["pio w 0x99 [42]"]);
    });
  });

  test(`single-step: one debug exit per instruction of the seed demo, RIPs in order [${accel}]`, async () => {
    await withGuest(accel, SEED_CODE, ({ vcpu, runnable }) => {
      const regs = vcpu.getRegs();
      vcpu.setRegs({ ...regs, rax: 2n, rbx: 2n });
      runnable.setSingleStep(true);
      const bus = new IoBus();
      const out: number[] = [];
      bus.registerPio(0x3f8, 1, { read: () => {}, write: (_o, d) => out.push(d[0] as number) }, "out");
      const end = LOAD + SEED_CODE.length;
      const pcs: number[] = [];
      const reason = runVcpu(runnable, bus, {
        stop: new StopFlag(),
        onDebug: (pc) => {
          pcs.push(Number(pc));
          return Number(pc) >= end ? "stop" : "continue";
        },
      });
      assert.deepEqual(reason, { kind: "debug", pc: BigInt(end) });
      assert.equal(String.fromCharCode(...out), "4\n");
      // Each step stops after one instruction, at the start of the next one. The nested KVM this was first
      // measured on completed an OUT in userspace and lost its step trap, so under KVM the steps after the
      // two OUTs may be absent; the emulator must report every one.
      const afterOut = new Set([0x1008, 0x100b]);
      const expected = [0x1003, 0x1005, 0x1007, 0x1008, 0x100a, 0x100b, 0x100c];
      assert.deepEqual(
        pcs,
        accel === "emu" ? expected : expected.filter((pc) => !afterOut.has(pc) || pcs.includes(pc)),
      );
    });
  });
}
