// The syscall layer: the few libc calls a VMM needs, bound with koffi. Pointers are BigInt; buffers passed as
// `void *` must be TypedArrays. Every failing call throws a SysError naming the call and the errno.
// koffi (a native module) loads on the first call, not on import: the emulator path never needs it, and a
// process where it cannot load still runs guests there.
import { createRequire } from "node:module";
import { getSystemErrorMap } from "node:util";

type Koffi = typeof import("koffi");
type Fn = (...args: unknown[]) => unknown;

interface Libc {
  koffi: Koffi;
  open: Fn;
  close: Fn;
  ioctlPtr: Fn;
  ioctlInt: Fn;
  mmap: Fn;
  munmap: Fn;
  gettid: Fn;
  getpid: Fn;
  tgkill: Fn;
}

let bound: Libc | undefined;

function bind(): Libc {
  let koffi: Koffi;
  try {
    // koffi is CommonJS: require() it (an ESM import would be hoisted to load time).
    koffi = createRequire(import.meta.url)("koffi") as Koffi;
  } catch (e) {
    throw new Error(`koffi, which tsvmm calls libc through for KVM, did not load: ${(e as Error).message}`);
  }
  const lib = koffi.load("libc.so.6");
  return {
    koffi,
    open: lib.func("int open(const char *path, int flags, int mode)"),
    close: lib.func("int close(int fd)"),
    ioctlPtr: lib.func("int ioctl(int fd, unsigned long request, void *arg)"),
    ioctlInt: lib.func("ioctl", "int", ["int", "unsigned long", "unsigned long"]),
    mmap: lib.func("void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)"),
    munmap: lib.func("int munmap(void *addr, size_t length)"),
    gettid: lib.func("int gettid()"),
    getpid: lib.func("int getpid()"),
    tgkill: lib.func("int tgkill(int tgid, int tid, int sig)"),
  };
}

function libc(): Libc {
  bound ??= bind();
  return bound;
}

/** Whether the libc calls are available (loads koffi: ask only when KVM is about to be used). */
export function syscallsAvailable(): boolean {
  try {
    libc();
    return true;
  } catch {
    return false;
  }
}

export const O_RDWR = 0o2;
export const O_CLOEXEC = 0o2000000;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_SHARED = 0x01;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

export const EINTR = 4;
export const EAGAIN = 11;

const errnoNames = getSystemErrorMap();

/** A failed system call: `call` names what was attempted (e.g. "ioctl(KVM_CREATE_VM)"). */
export class SysError extends Error {
  readonly code: string;
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    const [code, text] = errnoNames.get(-errno) ?? [`E${errno}`, "unknown error"];
    super(`${call} failed: ${text} (${code})`);
    this.name = "SysError";
    this.code = code;
  }
}

function check(call: string, rc: number): number {
  if (rc < 0) throw new SysError(call, libc().koffi.errno());
  return rc;
}

export function open(path: string, flags: number): number {
  return check(`open(${path})`, libc().open(path, flags, 0) as number);
}

export function close(fd: number): void {
  check("close", libc().close(fd) as number);
}

/** ioctl whose argument is a pointer to a buffer the kernel reads or fills. */
export function ioctl(fd: number, request: number, arg: ArrayBufferView | null, name: string): number {
  const rc = libc().ioctlPtr(fd, request, arg) as number;
  // The error's text is built only on failure: some ioctls (KVM_IRQ_LINE) are on hot paths.
  return rc < 0 ? check(`ioctl(${name})`, rc) : rc;
}

/** ioctl whose argument is an integer. */
export function ioctlValue(fd: number, request: number, value: number | bigint, name: string): number {
  const rc = libc().ioctlInt(fd, request, value) as number;
  return rc < 0 ? check(`ioctl(${name})`, rc) : rc;
}

/** The raw ioctl for hot paths: returns -errno instead of throwing. */
export function ioctlRaw(fd: number, request: number): number {
  const l = libc();
  const rc = l.ioctlInt(fd, request, 0) as number;
  return rc < 0 ? -l.koffi.errno() : rc;
}

export function mmap(length: number, prot: number, flags: number, fd: number, offset = 0): bigint {
  const l = libc();
  const addr = BigInt(l.mmap(null, length, prot, flags, fd, offset) as bigint | number);
  if (addr === MAP_FAILED) throw new SysError("mmap", l.koffi.errno());
  return addr;
}

export function munmap(addr: bigint, length: number): void {
  check("munmap", libc().munmap(addr, length) as number);
}

/** A zero-copy view of `length` bytes of process memory at `addr` (an mmap result). */
export function view(addr: bigint, length: number): ArrayBuffer {
  return libc().koffi.view(addr, length);
}

export function gettid(): number {
  return libc().gettid() as number;
}

export function getpid(): number {
  return libc().getpid() as number;
}

export function tgkill(pid: number, tid: number, signal: number): void {
  check("tgkill", libc().tgkill(pid, tid, signal) as number);
}
