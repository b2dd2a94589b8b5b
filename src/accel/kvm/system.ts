// The KVM system: /dev/kvm itself. Checks the API version and the capabilities tsvmm relies on.

import type { CpuidEntry } from "../../arch/x86/cpu_state.js";
import { UserError } from "../../errors.js";
import {
  KVM_CAP_IMMEDIATE_EXIT,
  KVM_CAP_USER_MEMORY,
  KVM_CHECK_EXTENSION,
  KVM_CREATE_VM,
  KVM_GET_API_VERSION,
  KVM_GET_SUPPORTED_CPUID,
  KVM_GET_VCPU_MMAP_SIZE,
} from "./ioctls.js";
import { cpuid2Buffer, decodeCpuid2 } from "./structs.js";
import { close, ioctl, ioctlValue, O_CLOEXEC, O_RDWR, open, SysError } from "./sys.js";
import { Vm } from "./vm.js";

export const KVM_API_VERSION = 12;
export const DEFAULT_KVM_PATH = "/dev/kvm";

/** KVM cannot be used: no device, no permission, not a KVM device, or a missing capability. */
export class KvmUnavailableError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = "KvmUnavailableError";
  }
}

const REQUIRED_CAPS: [number, string][] = [
  [KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"],
  [KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"],
];

export class Kvm {
  private constructor(
    readonly fd: number,
    readonly path: string,
  ) {}

  static open(path = DEFAULT_KVM_PATH): Kvm {
    let fd: number;
    try {
      fd = open(path, O_RDWR | O_CLOEXEC);
    } catch (e) {
      throw new KvmUnavailableError(describeOpenError(path, e));
    }
    const kvm = new Kvm(fd, path);
    try {
      kvm.checkApi();
    } catch (e) {
      kvm.close();
      throw e;
    }
    return kvm;
  }

  private checkApi(): void {
    let version: number;
    try {
      version = ioctlValue(this.fd, KVM_GET_API_VERSION, 0, "KVM_GET_API_VERSION");
    } catch {
      throw new KvmUnavailableError(`${this.path} is not a KVM device (KVM_GET_API_VERSION failed)`);
    }
    if (version !== KVM_API_VERSION) {
      throw new KvmUnavailableError(`${this.path}: KVM API version ${version}, expected ${KVM_API_VERSION}`);
    }
    for (const [cap, name] of REQUIRED_CAPS) {
      if (this.checkExtension(cap) <= 0) throw new KvmUnavailableError(`${this.path}: KVM lacks ${name}`);
    }
  }

  checkExtension(cap: number): number {
    return ioctlValue(this.fd, KVM_CHECK_EXTENSION, cap, "KVM_CHECK_EXTENSION");
  }

  vcpuMmapSize(): number {
    return ioctlValue(this.fd, KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE");
  }

  /** The CPUID leaves this host's KVM can present to a guest. */
  supportedCpuid(): CpuidEntry[] {
    // The kernel says E2BIG until the buffer is large enough.
    for (let capacity = 64; capacity <= 4096; capacity *= 2) {
      const buf = cpuid2Buffer(capacity);
      try {
        ioctl(this.fd, KVM_GET_SUPPORTED_CPUID, buf, "KVM_GET_SUPPORTED_CPUID");
        return decodeCpuid2(buf);
      } catch (e) {
        if (!(e instanceof SysError && e.code === "E2BIG")) throw e;
      }
    }
    throw new Error("KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
  }

  createVm(): Vm {
    const fd = ioctlValue(this.fd, KVM_CREATE_VM, 0, "KVM_CREATE_VM");
    return new Vm(fd, this.vcpuMmapSize());
  }

  close(): void {
    close(this.fd);
  }
}

function describeOpenError(path: string, e: unknown): string {
  if (!(e instanceof SysError)) return `cannot use ${path}: ${(e as Error).message ?? String(e)}`;
  switch (e.code) {
    case "ENOENT":
      return `cannot open ${path}: no such device (is KVM enabled on this host?)`;
    case "EACCES":
    case "EPERM":
      return `cannot open ${path}: permission denied (add your user to the kvm group or run as root)`;
    default:
      return `cannot open ${path}: ${e.message}`;
  }
}
