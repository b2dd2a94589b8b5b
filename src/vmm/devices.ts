// The devices of a machine, built from a plain (structured-cloneable) description so that the thread
// running a vCPU can build its own. Device models stay unaware of ports and threads: this file wires them.
// The set is QEMU's test machine: COM1, isa-debug-exit (at 0xf4 and at QEMU's default 0x501), fw_cfg, POST
// codes, the PICs' mask registers, and QEMU's test devices: pc-testdev and, behind a PCI host bridge
// (configuration mechanism #1 at 0xcf8/0xcfc), pci-testdev at 00:01.0 with its BARs assigned as firmware
// would (the guest may move them).
import { type BusDevice, IoBus } from "../bus/io_bus.js";
import { AcpiPmTimer, PM_TIMER_PORT, PM_TIMER_SIZE } from "../devices/irqchip/pm_timer.js";
import { ACPI_PM_PORT_COUNT, ACPI_PM1A_EVT_PORT, AcpiPm } from "../devices/legacy/acpi_pm.js";
import { CmosRtc } from "../devices/legacy/cmos_rtc.js";
import { DebugExit } from "../devices/legacy/debug_exit.js";
import { FwCfg } from "../devices/legacy/fw_cfg.js";
import { I8042 } from "../devices/legacy/i8042.js";
import { I8259Mask } from "../devices/legacy/i8259_mask.js";
import { PostCode } from "../devices/legacy/post_code.js";
import { ResetControlRegister, SystemControlPortA } from "../devices/legacy/reset_control.js";
import { UART_IER, UART_REGISTER_COUNT, Uart16550 } from "../devices/legacy/uart16550.js";
import {
  type BarMapper,
  PCI_CONFIG_ADDRESS_PORT,
  PCI_CONFIG_PORT_COUNT,
  PciHostBridge,
} from "../devices/pci/host_bridge.js";
import { PciTestdev } from "../devices/pci/pci_testdev.js";
import {
  PC_TESTDEV_DATA_BYTE_PORT,
  PC_TESTDEV_DATA_PORT,
  PC_TESTDEV_FLUSH_PORT,
  PC_TESTDEV_IOMEM_BASE,
  PC_TESTDEV_IOMEM_SIZE,
  PC_TESTDEV_IRQ_LINES,
  PC_TESTDEV_IRQ_PORT,
  PC_TESTDEV_REGISTER_SIZE,
  PcTestdev,
} from "../devices/testdev/pc_testdev.js";
import type { ClockMode } from "./machine_clock.js";
import { hostClock } from "./machine_clock.js";
import type { StopReason } from "./vcpu_loop.js";

// Legacy PC port assignments.
/** COM1-COM4: base port and ISA interrupt line. COM3 and COM4 share COM1's and COM2's lines. */
export const SERIAL_PORTS = [
  { name: "com1", port: 0x3f8, irq: 4 },
  { name: "com2", port: 0x2f8, irq: 3 },
  { name: "com3", port: 0x3e8, irq: 4 },
  { name: "com4", port: 0x2e8, irq: 3 },
] as const;
export const COM1_PORT = SERIAL_PORTS[0].port;
export const DEBUG_EXIT_PORT = 0xf4;
export const DEBUG_EXIT_SIZE = 4;
/** isa-debug-exit where QEMU puts it by default (iobase 0x501, iosize 2); both it and 0xf4 are present. */
export const QEMU_DEBUG_EXIT_PORT = 0x501;
export const QEMU_DEBUG_EXIT_SIZE = 2;
/** pci-testdev's slot on bus 0 (the host bridge is 00:00.0). */
export const PCI_TESTDEV_SLOT = 1;
export const FW_CFG_PORT = 0x510;
const FW_CFG_PORT_COUNT = 2; // selector, data
export const POST_CODE_PORT = 0x80;
export const RTC_PORT = 0x70;
const RTC_PORT_COUNT = 2; // index, data
export const I8042_DATA_PORT = 0x60;
export const I8042_COMMAND_PORT = 0x64;
export const SYSTEM_CONTROL_PORT_A = 0x92;
export const RESET_CONTROL_PORT = 0xcf9;
export const PIC_MASTER_PORT = 0x20;
export const PIC_SLAVE_PORT = 0xa0;
const PIC_PORT_COUNT = 2;

export interface DeviceConfig {
  /** Bytes of guest RAM and vCPUs, as fw_cfg reports them. */
  ramSize: number;
  cpus: number;
  /** The irqchip (KVM's, or the emulator's PcIrqChip) owns the PIC ports; without it, stand-ins answer them. */
  irqchip: boolean;
  /** CPUID offers x2APIC (the emulator's local APICs then allow it). */
  x2apic?: boolean;
  /** The emulator's machine clock: host time, or virtual (idle time skipped). */
  clock?: ClockMode;
  /** How many of COM1-COM4 exist (COM1 always). Console input goes to COM1; all write to the console. */
  serialPorts?: number;
}

/** Where console input waits until the UART has room for it. */
export interface InputSource {
  readonly available: number;
  take(max: number): Uint8Array;
}

export interface DeviceContext {
  /** Bytes the guest sends to the console. */
  consoleOutput: (byte: number) => void;
  /** Bytes for the guest's console. */
  consoleInput?: InputSource;
  /** A device ends the run: isa-debug-exit with a status, or a reset. */
  requestStop: (reason: StopReason) => void;
  /** Sets an ISA interrupt line (a GSI); absent without an interrupt controller. */
  setIrq?: (gsi: number, level: boolean) => void;
  /** The emulator's interrupt controllers and timers, which put their registers on the bus. */
  irqChip?: { register(bus: IoBus): void };
}

/**
 * Interrupt lines several devices share (COM1 and COM3 on IRQ 4): the line is high while any source holds
 * it high, as on an ISA bus with the sources wired-OR.
 */
function sharedLines(setIrq: (gsi: number, level: boolean) => void) {
  const high = new Map<number, Set<number>>();
  let nextSource = 0;
  return (gsi: number) => {
    const source = nextSource++;
    return (level: boolean) => {
      const holders = high.get(gsi) ?? new Set<number>();
      high.set(gsi, holders);
      const before = holders.size > 0;
      if (level) holders.add(source);
      else holders.delete(source);
      if (holders.size > 0 !== before) setIrq(gsi, holders.size > 0);
    };
  };
}

/** A device registered at one port of a range it models as a whole: its accesses arrive at `offset`. */
function atOffset(device: BusDevice, offset: number): BusDevice {
  return {
    read: (o, data) => device.read(o + offset, data),
    write: (o, data) => device.write(o + offset, data),
  };
}

/** PCI BARs on the machine's bus; a BAR placed over another device's range stays unmapped. */
function barMapper(bus: IoBus): BarMapper {
  return {
    map: (kind, base, size, device, name) => {
      try {
        if (kind === "io") bus.registerPio(base, size, device, name);
        else bus.registerMmio(base, size, device, name);
        return true;
      } catch {
        return false;
      }
    },
    unmap: (kind, base) => bus.unregister(kind === "io" ? "pio" : "mmio", base),
  };
}

export interface Devices {
  bus: IoBus;
  /** Moves waiting console input into the UART (which may raise its interrupt). */
  pollInput(): void;
}

export function buildDevices(config: DeviceConfig, ctx: DeviceContext): Devices {
  const bus = new IoBus();
  const { setIrq, consoleInput } = ctx;
  const line = setIrq && sharedLines(setIrq);
  const uarts = SERIAL_PORTS.slice(0, Math.max(1, Math.min(config.serialPorts ?? 1, SERIAL_PORTS.length))).map(
    (com) => new Uart16550(ctx.consoleOutput, line?.(com.irq)),
  );
  const com1 = uarts[0] as Uart16550;
  const pollInput = () => {
    if (consoleInput && consoleInput.available > 0 && com1.rxSpace > 0) com1.receive(consoleInput.take(com1.rxSpace));
  };
  // Top the receive FIFO up before each read, so a guest polling LSR sees input as it arrives, and before
  // IER writes, so one that enables the received-data interrupt gets it for input typed before. (THR
  // writes, the hot path, skip it.)
  const com1Port = {
    read: (offset: number, data: Uint8Array) => {
      pollInput();
      com1.read(offset, data);
    },
    write: (offset: number, data: Uint8Array) => {
      if (offset === UART_IER) pollInput();
      com1.write(offset, data);
    },
  };
  bus.registerPio(COM1_PORT, UART_REGISTER_COUNT, com1Port, "com1");
  uarts.slice(1).forEach((uart, i) => {
    const com = SERIAL_PORTS[i + 1] as (typeof SERIAL_PORTS)[number];
    bus.registerPio(com.port, UART_REGISTER_COUNT, uart, com.name);
  });
  const requestExit = (code: number) => ctx.requestStop({ kind: "exit", code });
  const reset = () => ctx.requestStop({ kind: "reset" });
  bus.registerPio(DEBUG_EXIT_PORT, DEBUG_EXIT_SIZE, new DebugExit(requestExit), "isa-debug-exit");
  bus.registerPio(QEMU_DEBUG_EXIT_PORT, QEMU_DEBUG_EXIT_SIZE, new DebugExit(requestExit), "isa-debug-exit-501");
  bus.registerPio(RTC_PORT, RTC_PORT_COUNT, new CmosRtc({ ramSize: config.ramSize }), "cmos-rtc");
  // The i8042's data and command ports straddle port 0x61 (the PIT's speaker gate, in KVM).
  const i8042 = new I8042(reset, setIrq && ((line, level) => setIrq(line, level)));
  bus.registerPio(I8042_DATA_PORT, 1, i8042, "i8042-data");
  bus.registerPio(I8042_COMMAND_PORT, 1, atOffset(i8042, I8042_COMMAND_PORT - I8042_DATA_PORT), "i8042-command");
  bus.registerPio(SYSTEM_CONTROL_PORT_A, 1, new SystemControlPortA(reset), "port-92");
  // 0xcf8-0xcff: the PCI configuration ports; a byte at 0xcf9 goes on to the Reset Control Register.
  const pciHost = new PciHostBridge(barMapper(bus), new ResetControlRegister(reset));
  bus.registerPio(PCI_CONFIG_ADDRESS_PORT, PCI_CONFIG_PORT_COUNT, pciHost.ports, "pci-config");
  const pciTestdev = new PciTestdev();
  pciHost.plug(PCI_TESTDEV_SLOT, { name: "pci-testdev", config: pciTestdev.config, regions: pciTestdev.regions });
  pciHost.assignLikeFirmware();
  const pcTestdev = new PcTestdev(setIrq);
  bus.registerPio(PC_TESTDEV_DATA_PORT, PC_TESTDEV_REGISTER_SIZE, pcTestdev.dataRegister, "pc-testdev-ioport");
  bus.registerPio(PC_TESTDEV_FLUSH_PORT, PC_TESTDEV_REGISTER_SIZE, pcTestdev.flushRegister, "pc-testdev-flush-page");
  bus.registerPio(
    PC_TESTDEV_DATA_BYTE_PORT,
    PC_TESTDEV_REGISTER_SIZE,
    pcTestdev.dataRegister,
    "pc-testdev-ioport-byte",
  );
  bus.registerPio(PC_TESTDEV_IRQ_PORT, PC_TESTDEV_IRQ_LINES, pcTestdev.irqLines, "pc-testdev-irq-line");
  bus.registerMmio(PC_TESTDEV_IOMEM_BASE, PC_TESTDEV_IOMEM_SIZE, pcTestdev.iomem, "pc-testdev-iomem");
  const fwCfg = new FwCfg({ ramSize: config.ramSize, nbCpus: config.cpus, maxCpus: config.cpus });
  bus.registerPio(FW_CFG_PORT, FW_CFG_PORT_COUNT, fwCfg, "fw_cfg");
  bus.registerPio(POST_CODE_PORT, 1, new PostCode(), "post-code");
  ctx.irqChip?.register(bus);
  if (config.irqchip) {
    // The ACPI fixed hardware the FADT announces (written with the irqchip): PM1a blocks, and under KVM,
    // whose irqchip has no PM timer, the timer (the emulator's PcIrqChip has its own on the machine clock).
    const powerOff = () => ctx.requestStop({ kind: "system-event", event: "poweroff", detail: "ACPI S5" });
    bus.registerPio(ACPI_PM1A_EVT_PORT, ACPI_PM_PORT_COUNT, new AcpiPm(powerOff), "acpi-pm1a");
    if (!ctx.irqChip) bus.registerPio(PM_TIMER_PORT, PM_TIMER_SIZE, new AcpiPmTimer(hostClock), "pm-timer");
  }
  if (!config.irqchip) {
    bus.registerPio(PIC_MASTER_PORT, PIC_PORT_COUNT, new I8259Mask(), "pic-master");
    bus.registerPio(PIC_SLAVE_PORT, PIC_PORT_COUNT, new I8259Mask(), "pic-slave");
  }
  return { bus, pollInput };
}
