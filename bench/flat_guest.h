/*
 * What the C reference VMMs of the benchmarks share: a VM with 64 KiB of RAM at guest physical 0, a flat
 * real-mode guest loaded and entered at 0x1000 (CS base 0), and its one vCPU with its kvm_run page.
 */
#ifndef FLAT_GUEST_H
#define FLAT_GUEST_H

#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#define MEM_SIZE 0x10000
#define LOAD 0x1000

struct flat_guest {
  int kvm, vm, vcpu;
  struct kvm_run *run;
};

static void die(const char *what) {
  perror(what);
  exit(1);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* Opens /dev/kvm and creates the VM: step one, so that a caller can add an irqchip before the vCPU. */
static struct flat_guest flat_guest_vm(void) {
  struct flat_guest g = {0};
  g.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (g.kvm < 0) die("/dev/kvm");
  g.vm = ioctl(g.kvm, KVM_CREATE_VM, 0);
  if (g.vm < 0) die("KVM_CREATE_VM");
  return g;
}

/* Step two: guest RAM with the file at LOAD, and the vCPU entering it in real mode. */
static void flat_guest_load(struct flat_guest *g, const char *file) {
  uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) die("mmap");
  FILE *f = fopen(file, "rb");
  if (!f) die(file);
  size_t n = fread(mem + LOAD, 1, MEM_SIZE - LOAD, f);
  fclose(f);
  if (n == 0) die("empty guest");
  struct kvm_userspace_memory_region region = {
      .slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE, .userspace_addr = (uint64_t)mem};
  if (ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");
  g->vcpu = ioctl(g->vm, KVM_CREATE_VCPU, 0);
  if (g->vcpu < 0) die("KVM_CREATE_VCPU");
  int run_size = ioctl(g->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  g->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, g->vcpu, 0);
  if (g->run == MAP_FAILED) die("mmap kvm_run");
  struct kvm_sregs sregs;
  if (ioctl(g->vcpu, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  if (ioctl(g->vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
  struct kvm_regs regs = {.rip = LOAD, .rflags = 2};
  if (ioctl(g->vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");
}

#endif
