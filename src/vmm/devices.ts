// The devices of a machine, built from a plain (structured-cloneable) description so that the thread
// running a vCPU can build its own. Device models stay unaware of ports and threads: this file wires them.
// The set is QEMU's test machine: COM1, isa-debug-exit, fw_cfg, POST codes and the PICs' mask registers.
import { IoBus } from "../bus/io_bus.js";
import { DebugExit } from "../devices/legacy/debug_exit.js";
import { FwCfg } from "../devices/legacy/fw_cfg.js";
import { I8259Mask } from "../devices/legacy/i8259_mask.js";
import { PostCode } from "../devices/legacy/post_code.js";
import { UART_REGISTER_COUNT, Uart16550 } from "../devices/legacy/uart16550.js";

// Legacy PC port assignments.
export const COM1_PORT = 0x3f8;
export const DEBUG_EXIT_PORT = 0xf4;
export const DEBUG_EXIT_SIZE = 4;
export const FW_CFG_PORT = 0x510;
const FW_CFG_PORT_COUNT = 2; // selector, data
export const POST_CODE_PORT = 0x80;
export const PIC_MASTER_PORT = 0x20;
export const PIC_SLAVE_PORT = 0xa0;
const PIC_PORT_COUNT = 2;

export interface DeviceConfig {
  /** Bytes of guest RAM and vCPUs, as fw_cfg reports them. */
  ramSize: number;
  cpus: number;
}

export interface DeviceContext {
  /** Bytes the guest sends to the console. */
  consoleOutput: (byte: number) => void;
  /** A device ends the VM with a status (isa-debug-exit). */
  requestExit: (code: number) => void;
  /** Sets an ISA interrupt line (a GSI); absent without an interrupt controller. */
  setIrq?: (gsi: number, level: boolean) => void;
}

/** ISA interrupt lines. */
export const COM1_IRQ = 4;

export function buildBus(config: DeviceConfig, ctx: DeviceContext): IoBus {
  const bus = new IoBus();
  const { setIrq } = ctx;
  const com1Irq = setIrq && ((level: boolean) => setIrq(COM1_IRQ, level));
  bus.registerPio(COM1_PORT, UART_REGISTER_COUNT, new Uart16550(ctx.consoleOutput, com1Irq), "com1");
  bus.registerPio(DEBUG_EXIT_PORT, DEBUG_EXIT_SIZE, new DebugExit(ctx.requestExit), "isa-debug-exit");
  const fwCfg = new FwCfg({ ramSize: config.ramSize, nbCpus: config.cpus, maxCpus: config.cpus });
  bus.registerPio(FW_CFG_PORT, FW_CFG_PORT_COUNT, fwCfg, "fw_cfg");
  bus.registerPio(POST_CODE_PORT, 1, new PostCode(), "post-code");
  bus.registerPio(PIC_MASTER_PORT, PIC_PORT_COUNT, new I8259Mask(), "pic-master");
  bus.registerPio(PIC_SLAVE_PORT, PIC_PORT_COUNT, new I8259Mask(), "pic-slave");
  return bus;
}
