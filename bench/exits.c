/*
 * The reference for bench/exits: the same guest under a minimal C VMM doing the same KVM_RUN loop.
 * usage: exits FILE.bin io|mmio  -> prints "<exits> <nanoseconds in the run loop>"
 * The guest is a flat real-mode binary loaded and entered at 0x1000 in 64 KiB of RAM; it exits with OUT to
 * port 0x3ff (a UART scratch register) or MMIO writes beyond RAM, then halts.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE 0x10000
#define LOAD 0x1000
#define SCRATCH_PORT 0x3ff

static void die(const char *what) { perror(what); exit(1); }

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: exits FILE io|mmio\n"); return 2; }
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) die("/dev/kvm");
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) die("KVM_CREATE_VM");
  uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) die("mmap");
  FILE *f = fopen(argv[1], "rb");
  if (!f) die(argv[1]);
  size_t n = fread(mem + LOAD, 1, MEM_SIZE - LOAD, f);
  fclose(f);
  if (n == 0) die("empty guest");
  struct kvm_userspace_memory_region region = {
      .slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE, .userspace_addr = (uint64_t)mem};
  if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");
  int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  if (vcpu < 0) die("KVM_CREATE_VCPU");
  int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  if (run == MAP_FAILED) die("mmap kvm_run");
  struct kvm_sregs sregs;
  if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
  struct kvm_regs regs = {.rip = LOAD, .rflags = 2};
  if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");

  /* The device model: a scratch register, and a count of MMIO writes nobody claims. */
  uint8_t scratch = 0;
  uint64_t exits = 0, unclaimed = 0;
  uint64_t start = now_ns();
  for (;;) {
    if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
    exits++;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
      if (run->io.port == SCRATCH_PORT && run->io.direction == KVM_EXIT_IO_OUT)
        scratch = *((uint8_t *)run + run->io.data_offset);
      break;
    case KVM_EXIT_MMIO:
      if (run->mmio.phys_addr >= MEM_SIZE) unclaimed++;
      break;
    case KVM_EXIT_HLT: {
      uint64_t elapsed = now_ns() - start;
      printf("%llu %llu\n", (unsigned long long)exits, (unsigned long long)elapsed);
      return scratch == 0xff ? 3 : 0; /* keep the device's state observable */
    }
    default:
      fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
      return 1;
    }
  }
}
