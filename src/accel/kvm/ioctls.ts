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
const KVM_CPUID2_HEADER_SIZE = 8; // struct kvm_cpuid2 without its flexible array
const KVM_MSRS_HEADER_SIZE = 8; // struct kvm_msrs without its flexible array
const KVM_MP_STATE_SIZE = 4;
const U64_SIZE = 8;
const KVM_IRQ_LEVEL_SIZE = 8;
const KVM_PIT_CONFIG_SIZE = 64;
const KVM_LAPIC_STATE_SIZE = 1024;
export const KVM_VCPU_EVENTS_SIZE = 64;

export const KVM_GET_API_VERSION = io(0x00);
export const KVM_CREATE_VM = io(0x01);
export const KVM_CHECK_EXTENSION = io(0x03);
export const KVM_GET_VCPU_MMAP_SIZE = io(0x04);
export const KVM_GET_SUPPORTED_CPUID = iowr(0x05, KVM_CPUID2_HEADER_SIZE);
export const KVM_CREATE_VCPU = io(0x41);
export const KVM_SET_USER_MEMORY_REGION = iow(0x46, KVM_USERSPACE_MEMORY_REGION_SIZE);
export const KVM_SET_TSS_ADDR = io(0x47);
export const KVM_SET_IDENTITY_MAP_ADDR = iow(0x48, U64_SIZE);
export const KVM_CREATE_IRQCHIP = io(0x60);
export const KVM_IRQ_LINE = iow(0x61, KVM_IRQ_LEVEL_SIZE);
export const KVM_CREATE_PIT2 = iow(0x77, KVM_PIT_CONFIG_SIZE);
export const KVM_RUN = io(0x80);
export const KVM_GET_REGS = ior(0x81, KVM_REGS_SIZE);
export const KVM_SET_REGS = iow(0x82, KVM_REGS_SIZE);
export const KVM_GET_SREGS = ior(0x83, KVM_SREGS_SIZE);
export const KVM_SET_SREGS = iow(0x84, KVM_SREGS_SIZE);
export const KVM_TRANSLATE = iowr(0x85, KVM_TRANSLATION_SIZE);
export const KVM_GET_MSRS = iowr(0x88, KVM_MSRS_HEADER_SIZE);
export const KVM_SET_MSRS = iow(0x89, KVM_MSRS_HEADER_SIZE);
export const KVM_GET_LAPIC = ior(0x8e, KVM_LAPIC_STATE_SIZE);
export const KVM_SET_LAPIC = iow(0x8f, KVM_LAPIC_STATE_SIZE);
export const KVM_GET_VCPU_EVENTS = ior(0x9f, KVM_VCPU_EVENTS_SIZE);
export const KVM_SET_VCPU_EVENTS = iow(0xa0, KVM_VCPU_EVENTS_SIZE);
export const KVM_SET_CPUID2 = iow(0x90, KVM_CPUID2_HEADER_SIZE);
export const KVM_GET_MP_STATE = ior(0x98, KVM_MP_STATE_SIZE);
export const KVM_SET_MP_STATE = iow(0x99, KVM_MP_STATE_SIZE);
export const KVM_SET_GUEST_DEBUG = iow(0x9b, KVM_GUEST_DEBUG_SIZE);

/** Capabilities (KVM_CAP_*) this project relies on. */
export const KVM_CAP_IRQCHIP = 0;
export const KVM_CAP_USER_MEMORY = 3;
export const KVM_CAP_PIT2 = 33;
export const KVM_CAP_IMMEDIATE_EXIT = 136;
