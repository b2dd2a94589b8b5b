// KVM ioctl request numbers, computed with the kernel's _IOC rules (include/uapi/asm-generic/ioctl.h)
// from the type 0xAE, the number and the argument size given in include/uapi/linux/kvm.h.
import { KVM_GUEST_DEBUG_SIZE, KVM_REGS_SIZE, KVM_SREGS_SIZE } from "./structs.js";

const IOC_NONE = 0;
const IOC_WRITE = 1;
const IOC_READ = 2;
const KVMIO = 0xae;

function ioc(dir: number, type: number, nr: number, size: number): number {
  // dir occupies bits 30..31: multiply instead of shifting to stay an unsigned number.
  return dir * 2 ** 30 + (size << 16) + (type << 8) + nr;
}
const io = (nr: number) => ioc(IOC_NONE, KVMIO, nr, 0);
const ior = (nr: number, size: number) => ioc(IOC_READ, KVMIO, nr, size);
const iow = (nr: number, size: number) => ioc(IOC_WRITE, KVMIO, nr, size);
const iowr = (nr: number, size: number) => ioc(IOC_READ | IOC_WRITE, KVMIO, nr, size);

const KVM_USERSPACE_MEMORY_REGION_SIZE = 32;
const KVM_TRANSLATION_SIZE = 24;

export const KVM_GET_API_VERSION = io(0x00);
export const KVM_CREATE_VM = io(0x01);
export const KVM_CHECK_EXTENSION = io(0x03);
export const KVM_GET_VCPU_MMAP_SIZE = io(0x04);
export const KVM_CREATE_VCPU = io(0x41);
export const KVM_SET_USER_MEMORY_REGION = iow(0x46, KVM_USERSPACE_MEMORY_REGION_SIZE);
export const KVM_RUN = io(0x80);
export const KVM_GET_REGS = ior(0x81, KVM_REGS_SIZE);
export const KVM_SET_REGS = iow(0x82, KVM_REGS_SIZE);
export const KVM_GET_SREGS = ior(0x83, KVM_SREGS_SIZE);
export const KVM_SET_SREGS = iow(0x84, KVM_SREGS_SIZE);
export const KVM_TRANSLATE = iowr(0x85, KVM_TRANSLATION_SIZE);
export const KVM_SET_GUEST_DEBUG = iow(0x9b, KVM_GUEST_DEBUG_SIZE);

/** Capabilities (KVM_CAP_*) this project relies on. */
export const KVM_CAP_USER_MEMORY = 3;
export const KVM_CAP_SET_GUEST_DEBUG = 23;
export const KVM_CAP_IMMEDIATE_EXIT = 136;
