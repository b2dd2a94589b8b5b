// The unicorn engine (QEMU's TCG x86 CPU as a library, Debian's libunicorn2) reached through koffi, as tsvmm
// reaches libc: koffi and libunicorn.so.2 load on first use, so a process without them can still ask
// `unicornUnavailable()` for the reason and skip.
import { createRequire } from "node:module";

type Koffi = typeof import("koffi");
type Fn = (...args: unknown[]) => unknown;

interface Lib {
  koffi: Koffi;
  open: Fn;
  close: Fn;
  ctl: Fn;
  regWrite: Fn;
  regRead: Fn;
  memMap: Fn;
  memWrite: Fn;
  memRead: Fn;
  emuStart: Fn;
  emuStop: Fn;
  hookAdd: Fn;
  strerror: Fn;
  contextAlloc: Fn;
  contextSave: Fn;
  contextRestore: Fn;
  hookIntr: unknown;
}

let bound: Lib | undefined;
let loadError: string | undefined;

function bind(): Lib {
  const koffi = createRequire(import.meta.url)("koffi") as Koffi;
  const lib = koffi.load("libunicorn.so.2");
  // The engine handle is an opaque pointer: carried as a uint64_t (the same register in the SysV ABI).
  const hookIntr = koffi.proto("void UcHookIntr(uint64_t uc, uint32_t intno, void *user)");
  return {
    koffi,
    open: lib.func("int uc_open(int arch, int mode, _Out_ uint64_t *uc)"),
    close: lib.func("int uc_close(uint64_t uc)"),
    ctl: lib.func("int uc_ctl(uint64_t uc, int control, ...)"),
    regWrite: lib.func("int uc_reg_write(uint64_t uc, int regid, const void *value)"),
    regRead: lib.func("int uc_reg_read(uint64_t uc, int regid, void *value)"),
    memMap: lib.func("int uc_mem_map(uint64_t uc, uint64_t address, size_t size, uint32_t perms)"),
    memWrite: lib.func("int uc_mem_write(uint64_t uc, uint64_t address, const void *bytes, size_t size)"),
    memRead: lib.func("int uc_mem_read(uint64_t uc, uint64_t address, void *bytes, size_t size)"),
    emuStart: lib.func("int uc_emu_start(uint64_t uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)"),
    emuStop: lib.func("int uc_emu_stop(uint64_t uc)"),
    hookAdd: lib.func(
      "int uc_hook_add(uint64_t uc, _Out_ uint64_t *hh, int type, UcHookIntr *cb, void *user, uint64_t begin, uint64_t end, ...)",
    ),
    strerror: lib.func("const char *uc_strerror(int code)"),
    contextAlloc: lib.func("int uc_context_alloc(uint64_t uc, _Out_ uint64_t *context)"),
    contextSave: lib.func("int uc_context_save(uint64_t uc, uint64_t context)"),
    contextRestore: lib.func("int uc_context_restore(uint64_t uc, uint64_t context)"),
    hookIntr,
  };
}

function lib(): Lib {
  if (!bound) {
    if (loadError) throw new Error(loadError);
    try {
      bound = bind();
    } catch (e) {
      loadError = `libunicorn.so.2 did not load through koffi (apt-get install libunicorn2): ${(e as Error).message}`;
      throw new Error(loadError);
    }
  }
  return bound;
}

/** Why unicorn cannot be used here, or undefined when it can. */
export function unicornUnavailable(): string | undefined {
  try {
    lib();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

const UC_ARCH_X86 = 4;
const UC_PROT_ALL = 7;
const UC_HOOK_INTR = 1;
const UC_CTL_CPU_MODEL_WRITE = 1140850695;
const UC_CTL_TB_REMOVE_CACHE_WRITE = 1207959561;
/** Haswell: MOVBE, POPCNT, LZCNT and LAHF in 64-bit mode, which the emulator implements and advertises. */
const UC_CPU_X86_HASWELL = 19;

export const UC_ERR_OK = 0;
export const UC_ERR_READ_UNMAPPED = 6;
export const UC_ERR_WRITE_UNMAPPED = 7;
export const UC_ERR_FETCH_UNMAPPED = 8;
export const UC_ERR_INSN_INVALID = 10;
export const UC_ERR_EXCEPTION = 21;

/** unicorn's register ids, in the SDM's GPR order (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15). */
const REG64 = [35, 38, 40, 37, 44, 36, 43, 39, 106, 107, 108, 109, 110, 111, 112, 113];
const REG32 = [19, 22, 24, 21, 30, 20, 29, 23];
const REG_RIP = 41;
const REG_EIP = 26;
const REG_EFLAGS = 25;
const REG_FS_BASE = 250;
const REG_GS_BASE = 251;

export type Mode = 16 | 32 | 64;

/** Outcome of a run: `vector` is the exception raised (-1 none), `error` unicorn's uc_err. */
export interface UcResult {
  error: number;
  vector: number;
}

/** One unicorn engine in a mode with `memSize` bytes mapped at 0, reused from case to case. */
export class Unicorn {
  private readonly l: Lib;
  private readonly handle: bigint;
  private readonly cell = new BigUint64Array(1);
  private readonly cell32 = new Uint32Array(2);
  private readonly callback: unknown;
  private vector = -1;
  private readonly context: bigint;

  constructor(
    readonly mode: Mode,
    readonly memSize: number,
  ) {
    this.l = lib();
    const out = [0n];
    const mflag = mode === 16 ? 2 : mode === 32 ? 4 : 8;
    this.check(this.l.open(UC_ARCH_X86, mflag, out), "uc_open");
    this.handle = out[0]!;
    this.check(this.l.ctl(this.handle, UC_CTL_CPU_MODEL_WRITE, "int", UC_CPU_X86_HASWELL), "uc_ctl(CPU_MODEL)");
    this.check(this.l.memMap(this.handle, 0, memSize, UC_PROT_ALL), "uc_mem_map");
    this.callback = this.l.koffi.register(
      (_uc: bigint, intno: number) => {
        this.vector = intno;
        this.l.emuStop(this.handle);
      },
      this.l.koffi.pointer(this.l.hookIntr as never),
    );
    this.check(this.l.hookAdd(this.handle, [0n], UC_HOOK_INTR, this.callback, null, 1, 0), "uc_hook_add");
    const ctx = [0n];
    this.check(this.l.contextAlloc(this.handle, ctx), "uc_context_alloc");
    this.context = ctx[0]!;
    this.check(this.l.contextSave(this.handle, this.context), "uc_context_save");
  }

  /** Back to the CPU state saved at creation (QEMU's memory of a pending exception included). */
  resetCpu(): void {
    this.check(this.l.contextRestore(this.handle, this.context), "uc_context_restore");
  }

  private check(err: unknown, what: string): void {
    if (err !== 0) throw new Error(`${what}: ${this.l.strerror(err as number)}`);
  }

  writeMem(address: number, bytes: Uint8Array): void {
    this.check(this.l.memWrite(this.handle, address, bytes, bytes.length), "uc_mem_write");
  }

  readMem(address: number, into: Uint8Array): void {
    this.check(this.l.memRead(this.handle, address, into, into.length), "uc_mem_read");
  }

  setReg(r: number, v: bigint): void {
    if (this.mode === 64) {
      this.cell[0] = v;
      this.l.regWrite(this.handle, REG64[r], this.cell);
    } else {
      this.cell32[0] = Number(v & 0xffffffffn);
      this.l.regWrite(this.handle, REG32[r], this.cell32);
    }
  }

  getReg(r: number): bigint {
    if (this.mode === 64) {
      this.l.regRead(this.handle, REG64[r], this.cell);
      return this.cell[0]!;
    }
    this.cell32[0] = 0;
    this.l.regRead(this.handle, REG32[r], this.cell32);
    return BigInt(this.cell32[0]!);
  }

  setFlags(v: number): void {
    this.cell32[0] = v;
    this.cell32[1] = 0;
    this.l.regWrite(this.handle, REG_EFLAGS, this.cell32);
  }

  getFlags(): number {
    this.cell32[0] = 0;
    this.l.regRead(this.handle, REG_EFLAGS, this.cell32);
    return this.cell32[0]!;
  }

  getIp(): number {
    if (this.mode === 64) {
      this.l.regRead(this.handle, REG_RIP, this.cell);
      return Number(this.cell[0]!);
    }
    this.cell32[0] = 0;
    this.l.regRead(this.handle, REG_EIP, this.cell32);
    return this.cell32[0]!;
  }

  /** Zeroes the FS and GS bases (64-bit mode: they are MSR state, not the selectors'). */
  zeroSegmentBases(): void {
    if (this.mode !== 64) return;
    this.cell[0] = 0n;
    this.l.regWrite(this.handle, REG_FS_BASE, this.cell);
    this.l.regWrite(this.handle, REG_GS_BASE, this.cell);
  }

  /** Runs from `begin` until RIP reaches `until` or an exception; the code at [begin, until) was just written. */
  run(begin: number, until: number): UcResult {
    this.l.ctl(this.handle, UC_CTL_TB_REMOVE_CACHE_WRITE, "uint64_t", begin, "uint64_t", until + 16);
    this.vector = -1;
    const error = this.l.emuStart(this.handle, begin, until, 0, 0) as number;
    return { error, vector: error === UC_ERR_INSN_INVALID ? 6 : this.vector };
  }

  close(): void {
    this.l.close(this.handle);
    this.l.koffi.unregister(this.callback as never);
  }
}
