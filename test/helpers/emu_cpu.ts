// Unit-test harness for the emulator: a Cpu over 64 KiB of RAM in flat real, 32-bit or 64-bit mode (no paging,
// no guest), and a runner that decodes bytes placed at RIP and calls the instruction's handler, as the run
// loop does. Faults come back as the vector instead of being delivered.
import {
  ATTR_DB,
  ATTR_L,
  ATTR_P,
  ATTR_S,
  Cpu,
  CR0_PE,
  CS,
  DS,
  EFER_LMA,
  EFER_LME,
  ES,
  SS,
} from "../../src/accel/emu/cpu.js";
import { decode } from "../../src/accel/emu/decoder.js";
import { FAULT } from "../../src/accel/emu/fault.js";
import type { Insn } from "../../src/accel/emu/insn.js";
import { Memory } from "../../src/accel/emu/memory.js";
import { PortIo } from "../../src/accel/emu/port_io.js";
import { GuestMemory } from "../../src/memory/guest_memory.js";
import "../../src/accel/emu/ops/index.js";

export type Mode = 16 | 32 | 64;

export const RAM_SIZE = 0x10000;
/** Where test code is placed (CS base 0, so also its linear and physical address). */
export const CODE = 0x1000;

export interface TestCpu {
  cpu: Cpu;
  guest: GuestMemory;
}

/** A fresh CPU in `mode` with flat segments (base 0, limit 4 GiB or 64 KiB) and zeroed registers. */
export function makeCpu(mode: Mode, ramSize = RAM_SIZE): TestCpu {
  const guest = GuestMemory.createShared([{ gpa: 0, size: ramSize }]);
  const cpu = new Cpu();
  cpu.mem = new Memory(cpu, guest);
  cpu.io = new PortIo();
  const data = ATTR_P | ATTR_S | 0x3 | (mode === 16 ? 0 : ATTR_DB);
  for (let s = 0; s < 6; s++) {
    cpu.segSel[s] = 0;
    cpu.segBase[s] = 0;
    cpu.segLimit[s] = mode === 16 ? 0xffff : 0xffffffff;
    cpu.segAttr[s] = data;
  }
  if (mode === 16) {
    cpu.segAttr[CS] = ATTR_P | ATTR_S | 0xb;
  } else {
    cpu.cr0 |= CR0_PE;
    cpu.segAttr[CS] = ATTR_P | ATTR_S | 0xb | (mode === 64 ? ATTR_L : ATTR_DB);
    cpu.segSel[CS] = 0x08;
    for (const s of [DS, ES, SS]) cpu.segSel[s] = 0x10;
    if (mode === 64) cpu.efer = EFER_LME | EFER_LMA;
  }
  cpu.updateMode();
  cpu.lo[4] = 0x8000; // RSP
  return { cpu, guest };
}

/** Decodes `bytes` as code of `codeSize` bytes (2, 4, 8) at offset `ip` (default 0). */
export function decodeBytes(bytes: readonly number[], codeSize: number, ip = 0): Insn {
  return decode(
    (offset) => {
      const b = bytes[offset - ip];
      if (b === undefined) throw new Error(`decoder read past the test bytes (offset ${offset - ip})`);
      return b;
    },
    ip,
    codeSize,
  );
}

/**
 * Places `bytes` at CODE and runs the instructions there until `count` have run (or RIP leaves the bytes).
 * Returns the vector of a fault (state is then as the fault left it), or -1.
 */
export function run(t: TestCpu, bytes: readonly number[], count = 1): number {
  const { cpu, guest } = t;
  guest.write(CODE, Uint8Array.from(bytes));
  cpu.ip = CODE;
  for (let n = 0; n < count && cpu.ip >= CODE && cpu.ip < CODE + bytes.length; n++) {
    if (step(t) >= 0) return FAULT.vector;
  }
  return -1;
}

/** Runs one instruction at RIP: the vector of its fault, or -1. */
export function step(t: TestCpu): number {
  const { cpu } = t;
  try {
    const i = decode((offset) => cpu.mem.fetch8(offset), cpu.ip, cpu.codeSize);
    const next = cpu.ip + i.len;
    cpu.nextIp = cpu.codeSize === 8 ? next : cpu.codeSize === 4 ? next >>> 0 : next & 0xffff;
    cpu.stopBlock = false;
    i.exec(cpu, i);
    cpu.ip = cpu.nextIp;
    return -1;
  } catch (e) {
    if (e === FAULT) return FAULT.vector;
    throw e;
  }
}

/** A 64-bit register as a BigInt (unsigned). */
export function reg(cpu: Cpu, r: number): bigint {
  return cpu.regBig(r);
}

export function setReg(cpu: Cpu, r: number, v: bigint | number): void {
  cpu.setRegBig(r, BigInt.asUintN(64, BigInt(v)));
}

/** The six status flags plus DF, as EFLAGS bits. */
export function flags(cpu: Cpu): number {
  return cpu.getEflags() & 0xcd5;
}
