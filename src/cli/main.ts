#!/usr/bin/env node
// The tsvmm command: a thin layer that parses options, builds a Machine and reports how the guest ended.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parseAccelChoice } from "../accel/open.js";
import type { Regs } from "../arch/x86/cpu_state.js";
import { parseCpuModel } from "../arch/x86/cpuid.js";
import { ENTRY_MODES, type EntryMode } from "../arch/x86/regs.js";
import { UserError } from "../errors.js";
import { assembleFlat } from "../loader/assemble.js";
import { findMultibootHeader, type MultibootModule } from "../loader/multiboot.js";
import { defaultLoadAddress } from "../vmm/boot_image.js";
import { createMachine, type Machine, type RunResult } from "../vmm/machine.js";
import type { FlatImage, KernelImage, MachineConfig } from "../vmm/machine_config.js";
import { parseNumber, parseRegAssignment, parseSize, splitQemuList } from "./parse.js";
import { stdinConsole } from "./terminal.js";

const USAGE = `usage: tsvmm                             run the built-in demo guest (prints 4)
       tsvmm run [options] FILE          run a flat binary, or a .S file assembled with GNU as
       tsvmm run [options] --kernel FILE run a Multiboot, ELF32 or ELF64 kernel

options:
  --accel NAME         kvm, or emu (tsvmm's x86-64 emulator; tcg is another name for it);
                       default: kvm when /dev/kvm opens, else emu
  --mode MODE          CPU mode for a flat binary: real (default), protected, paged32, long
  --load ADDR          guest physical load address (default 0x1000 in real mode, else 0x100000)
  --entry ADDR         entry point (default: the load address)
  --kernel FILE        a kernel; its kind is read from the file
  --append ARGS        the kernel command line
  --initrd FILES       a Linux initrd; for a Multiboot kernel, as QEMU's -initrd, modules "FILE[ ARGS]"
                       separated by commas (",," is a comma in a name or its arguments)
  --module FILE[,ARGS] a further Multiboot module, with its string (repeatable)
  --memory SIZE        guest RAM, e.g. 64M (default 128M)
  --reg NAME=VALUE     initial register value (repeatable), e.g. --reg rax=2
  --kvm PATH           KVM device (default /dev/kvm); giving one asks for KVM
  --timeout MS         stop the guest after MS milliseconds
  --cpus N             vCPUs (default 1); the others start through INIT-SIPI-SIPI
  --cpu MODEL          host (KVM's default), max (everything the accelerator offers; the emulator's
                       default) or baseline, with +feature/-feature, e.g. host,-x2apic
  --serial N           serial ports COM1..COMN (1-4, default 1); all write to the console, COM1 reads it
  --reboot             when the guest resets the machine, start it again (default: end with status 0)
  --irqchip            PIC, IOAPIC, LAPIC and PIT for a flat binary (kernels and --cpus above 1 have them)
  --clock MODE         the emulator's clock: host (default) or virtual (skips time when every vCPU idles)
  --trace              print every port and MMIO access and every stop, with the instruction at RIP, to stderr
  -h, --help           show this help`;

/** Exit status when --timeout stopped the guest (as timeout(1) uses). */
const TIMEOUT_STATUS = 124;
const USAGE_STATUS = 2;

const OPTIONS = {
  accel: { type: "string" },
  mode: { type: "string" },
  kernel: { type: "string" },
  append: { type: "string" },
  initrd: { type: "string" },
  module: { type: "string", multiple: true },
  load: { type: "string" },
  entry: { type: "string" },
  memory: { type: "string" },
  reg: { type: "string", multiple: true },
  kvm: { type: "string" },
  timeout: { type: "string" },
  trace: { type: "boolean" },
  irqchip: { type: "boolean" },
  cpus: { type: "string" },
  serial: { type: "string" },
  reboot: { type: "boolean" },
  cpu: { type: "string" },
  clock: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

interface Invocation {
  config: MachineConfig;
  timeoutMs?: number;
  reboot: boolean;
}

function parse(argv: string[]): Invocation | "help" {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  const [command, ...rest] = positionals;
  const config: MachineConfig = {};
  if (values.accel !== undefined) config.accel = parseAccelChoice(values.accel);
  if (values.kvm !== undefined) config.kvmPath = values.kvm;
  if (values.memory !== undefined) config.memorySize = parseSize(values.memory, "--memory");
  if (values.trace) config.trace = true;
  if (values.irqchip) config.irqchip = true;
  if (values.cpus !== undefined) config.cpus = parseNumber(values.cpus, "--cpus");
  if (values.serial !== undefined) config.serialPorts = parseNumber(values.serial, "--serial");
  if (values.cpu !== undefined) config.cpuModel = parseCpuModel(values.cpu);
  if (values.clock !== undefined) config.clock = values.clock as MachineConfig["clock"];
  const regs: Partial<Regs> = {};
  for (const r of values.reg ?? []) {
    const [name, value] = parseRegAssignment(r);
    regs[name] = value;
  }
  if (Object.keys(regs).length > 0) config.regs = regs;
  const timeoutMs = values.timeout === undefined ? undefined : parseNumber(values.timeout, "--timeout");

  if (command === undefined) {
    for (const o of ["mode", "load", "entry", "kernel", "append", "initrd", "module"] as const) {
      if (values[o] !== undefined) throw new UserError(`--${o} needs the run command: tsvmm run --${o} ...`);
    }
  } else if (command === "run") {
    config.image = values.kernel === undefined ? flatImage(values, rest) : kernelImage(values, rest);
  } else {
    throw new UserError(`unknown command "${command}" (try tsvmm --help)`);
  }
  const reboot = values.reboot ?? false;
  return timeoutMs === undefined ? { config, reboot } : { config, timeoutMs, reboot };
}

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

function flatImage(values: Values, files: string[]): FlatImage {
  if (files.length !== 1) throw new UserError("run: expected exactly one FILE (or --kernel FILE)");
  for (const o of ["append", "initrd", "module"] as const) {
    if (values[o] !== undefined) throw new UserError(`--${o} applies to --kernel images only`);
  }
  const file = files[0] as string;
  const mode = values.mode ?? "real";
  if (!(ENTRY_MODES as readonly string[]).includes(mode)) {
    throw new UserError(`--mode: unknown mode "${mode}" (supported: ${ENTRY_MODES.join(", ")})`);
  }
  const entryMode = mode as EntryMode;
  const loadAddr = values.load === undefined ? defaultLoadAddress(entryMode) : parseNumber(values.load, "--load");
  const data = /\.s$/i.test(file) ? assembleFlat(readText(file), loadAddr) : readImage(file);
  return {
    kind: "flat",
    name: file,
    data,
    mode: entryMode,
    loadAddr,
    ...(values.entry !== undefined && { entry: parseNumber(values.entry, "--entry") }),
  };
}

function kernelImage(values: Values, files: string[]): KernelImage {
  if (files.length > 0) throw new UserError("run: give either FILE or --kernel FILE, not both");
  for (const o of ["mode", "load", "entry"] as const) {
    if (values[o] !== undefined) throw new UserError(`--${o} applies to flat binaries; a kernel says how it boots`);
  }
  const file = values.kernel as string;
  const data = readImage(file);
  const modules: MultibootModule[] = [];
  if (values.initrd !== undefined) {
    // QEMU's -initrd: for a Multiboot kernel a comma-separated list of modules, each "FILE[ ARGS]" with
    // the whole entry as the module's string; for Linux one file.
    const entries = findMultibootHeader(file, data) ? splitQemuList(values.initrd) : [values.initrd];
    for (const entry of entries) {
      const space = entry.indexOf(" ");
      const name = space < 0 ? entry : entry.slice(0, space);
      modules.push({ name, data: readImage(name), args: entry });
    }
  }
  for (const spec of values.module ?? []) {
    const comma = spec.indexOf(",");
    const name = comma < 0 ? spec : spec.slice(0, comma);
    const args = comma < 0 ? spec : `${name} ${spec.slice(comma + 1)}`;
    modules.push({ name, data: readImage(name), args });
  }
  return { kind: "kernel", name: file, data, cmdline: values.append ?? "", modules };
}

function readText(file: string): string {
  return Buffer.from(readImage(file)).toString("utf8");
}

function readImage(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (e as Error).message;
    throw new UserError(`${file}: ${why}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const inv = parse(argv);
  if (inv === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let machine: Machine | undefined;
  let quit = false;
  let timedOut = false;
  const end = () => {
    quit = true;
    machine?.stop();
  };
  const input = stdinConsole(end);
  const timer =
    inv.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          end();
        }, inv.timeoutMs);
  process.on("SIGINT", end);
  process.on("SIGTERM", end);
  try {
    for (;;) {
      machine = createMachine({ ...inv.config, consoleInput: input.stream });
      const result = await runToEnd(machine);
      if (timedOut && result.reason.kind === "stopped") {
        process.stderr.write(`tsvmm: guest stopped after the ${inv.timeoutMs} ms timeout\n`);
        return TIMEOUT_STATUS;
      }
      const d = result.description;
      if (d.failed || d.details) process.stderr.write(`tsvmm: ${d.summary}\n${d.details ?? ""}\n`);
      // --reboot: a guest's reset starts the machine afresh from the same image, as a PC's would.
      if (quit || !(inv.reboot && result.reason.kind === "reset")) return d.status;
    }
  } finally {
    clearTimeout(timer);
    process.off("SIGINT", end);
    process.off("SIGTERM", end);
    input.restore();
  }
}

async function runToEnd(machine: Machine): Promise<RunResult> {
  try {
    return await machine.run();
  } finally {
    await machine.close();
  }
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (e: unknown) => {
    if (e instanceof UserError) {
      process.stderr.write(`tsvmm: ${e.message}\n`);
      process.exitCode = USAGE_STATUS;
    } else {
      process.stderr.write(`tsvmm: internal error: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 70;
    }
  },
);
