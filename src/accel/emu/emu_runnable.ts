// The worker's side of an emulated vCPU: the live Cpu, its interpreter and every instruction handler, loaded
// only on the thread that runs the vCPU (open_vcpu.ts); the main thread's EmuVcpu (emu_vcpu.ts) never loads them.
import { type CpuidEntry, MpState } from "../../arch/x86/cpu_state.js";
import type { Bus } from "../../bus/io_bus.js";
import type { IdleClock } from "../../devices/irqchip/clock.js";
import type { PcIrqChip } from "../../devices/irqchip/pc_irqchip.js";
import type { GuestMemory } from "../../memory/guest_memory.js";
import type { EmuVcpuHandle, RunHooks, RunnableVcpu, VcpuExit } from "../accelerator.js";
import { Cpu } from "./cpu.js";
import { EmuVcpuBase } from "./emu_vcpu.js";
import { IF as IF_FLAG } from "./flags.js";
import { Interpreter, type SlicedExit } from "./interpreter.js";
import { Memory } from "./memory.js";
import { unimplementedSeen } from "./opcodes.js";
import type { EmuPlatform } from "./platform.js";
import { PortIo } from "./port_io.js";
import { StateBuffer } from "./vcpu_state.js";
import "./ops/index.js";

/** The worker's view: a live Cpu and its interpreter. */
/** The longest an idle vCPU sleeps before looking again (a kick wakes it sooner). */
const MAX_IDLE_WAIT_MS = 1000;

export class RunnableEmuVcpu extends EmuVcpuBase implements RunnableVcpu {
  protected readonly state: StateBuffer;
  readonly handle: EmuVcpuHandle;
  readonly id: number;
  private readonly live = new Cpu();
  private readonly interpreter: Interpreter;
  private running = false;

  constructor(handle: EmuVcpuHandle, memory: GuestMemory) {
    super();
    this.handle = handle;
    this.id = handle.id;
    this.state = new StateBuffer(handle.state);
    this.live.mem = new Memory(this.live, memory);
    this.live.io = new PortIo();
    this.interpreter = new Interpreter(this.live);
  }

  protected cpu(): Cpu {
    if (!this.running) this.state.load(this.live);
    return this.live;
  }

  protected commit(cpu: Cpu): void {
    if (!this.running) this.state.save(cpu);
  }

  get cpuidEntries(): CpuidEntry[] {
    return this.state.cpuid();
  }

  attachIrqChip(chip: PcIrqChip, clock: IdleClock): void {
    const apic = chip.lapics[this.id];
    if (!apic) throw new RangeError(`the irqchip has no local APIC for vCPU ${this.id}`);
    this.live.platform = {
      apic,
      nowNs: () => clock.nowNs(),
      poll: () => chip.poll(),
      nextDeadlineNs: () => chip.nextDeadlineNs(),
      idle: (kick) => clock.idleUntil(chip.nextDeadlineNs(), kick, MAX_IDLE_WAIT_MS),
    };
  }

  run(bus: Bus, hooks: RunHooks): VcpuExit {
    this.enter();
    try {
      return this.interpreter.run(bus, hooks) as VcpuExit;
    } finally {
      this.leave();
    }
  }

  /** Takes the state from the shared buffer into the live CPU, before runs. */
  enter(): void {
    const cpu = this.live;
    this.state.load(cpu);
    cpu.cpuid = this.state.cpuid();
    // The APIC's TSC-deadline timer reads the vCPU's TSC.
    if (cpu.platform) cpu.platform.apic.timer.tscOffset = cpu.tscOffset;
    cpu.mem.tlb.flushAll();
    this.running = true;
  }

  /** One turn of at most `blocks` blocks, between enter() and leave() (several vCPUs on one thread). */
  slice(bus: Bus, hooks: RunHooks, blocks: number): SlicedExit {
    return this.interpreter.run(bus, hooks, blocks);
  }

  /** Puts the live state back in the shared buffer, after runs. */
  leave(): void {
    this.running = false;
    this.state.save(this.live);
    this.state.setNotes(unimplementedSeen);
  }

  /** Whether the vCPU is halted with interrupts disabled (or waits for a SIPI): only an INIT, NMI or SIPI wakes it. */
  get asleep(): boolean {
    const cpu = this.live;
    return (cpu.halted && !(cpu.eflags & IF_FLAG)) || cpu.mpState !== MpState.RUNNABLE;
  }

  /** The machine's next timer deadline and clock, when there is an irqchip. */
  get platform(): EmuPlatform | undefined {
    return this.live.platform;
  }

  close(): void {}
}

export function openEmuVcpu(handle: EmuVcpuHandle, memory: GuestMemory): RunnableEmuVcpu {
  return new RunnableEmuVcpu(handle, memory);
}
