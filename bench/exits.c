/*
 * The reference for bench/exits: the same guest under a minimal C VMM doing the same KVM_RUN loop.
 * usage: exits FILE.bin io|mmio  -> prints "<exits> <nanoseconds in the run loop>"
 * The guest is a flat real-mode binary loaded and entered at 0x1000 in 64 KiB of RAM; it exits with OUT to
 * port 0x3ff (a UART scratch register) or MMIO writes beyond RAM, then halts.
 */
#include "flat_guest.h"

#define SCRATCH_PORT 0x3ff

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: exits FILE io|mmio\n"); return 2; }
  struct flat_guest g = flat_guest_vm();
  flat_guest_load(&g, argv[1]);
  struct kvm_run *run = g.run;

  /* The device model: a scratch register, and a count of MMIO writes nobody claims. */
  uint8_t scratch = 0;
  uint64_t exits = 0, unclaimed = 0;
  uint64_t start = now_ns();
  for (;;) {
    if (ioctl(g.vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
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
