// The devices of a machine, built from a plain (structured-cloneable) description so that the thread
// running a vCPU can build its own. Device models stay unaware of ports and threads: this file wires them.
import { IoBus } from "../bus/io_bus.js";
import { UART_REGISTER_COUNT, Uart16550 } from "../devices/legacy/uart16550.js";

/** Legacy COM port bases. */
export const COM1_PORT = 0x3f8;

export interface DeviceConfig {
  /** COM1 16550A; its output goes to the console. */
  serial: boolean;
}

export interface DeviceContext {
  /** Bytes the guest sends to the console. */
  consoleOutput: (byte: number) => void;
}

export function buildBus(config: DeviceConfig, ctx: DeviceContext): IoBus {
  const bus = new IoBus();
  if (config.serial) {
    bus.registerPio(COM1_PORT, UART_REGISTER_COUNT, new Uart16550(ctx.consoleOutput), "com1");
  }
  return bus;
}
