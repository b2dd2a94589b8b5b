/*
 * The reference for bench/irq: interrupt latency under a minimal C VMM running the same guest
 * (guests/bench_irq.S) with the same in-kernel irqchip setup as tsvmm.
 * usage: irq FILE.bin COUNT WARMUP -> prints COUNT latencies in nanoseconds, one per line
 * On each OUT to the ready port: t0 = now, KVM_IRQ_LINE IRQ 5 high then low, back into KVM_RUN. The OUT to
 * the ack port from the guest's handler gives t1; latency = t1 - t0. The first WARMUP are not printed.
 */
#include <string.h>

#include "flat_guest.h"

#define READY_PORT 0xe0
#define ACK_PORT 0xe1
#define IRQ 5
#define TSS_ADDR 0xfffbd000
#define IDENTITY_MAP_ADDR 0xfffbc000ull
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_MASK (0x7 << 8)
#define APIC_MODE_NMI (0x4 << 8)
#define APIC_MODE_EXTINT (0x7 << 8)

static void set_lvt(struct kvm_lapic_state *s, int reg, uint32_t mode) {
  uint32_t v;
  memcpy(&v, s->regs + reg, 4);
  v = (v & ~APIC_MODE_MASK) | mode;
  memcpy(s->regs + reg, &v, 4);
}

static void irq_line(int vm, uint32_t level) {
  struct kvm_irq_level irq = {.irq = IRQ, .level = level};
  if (ioctl(vm, KVM_IRQ_LINE, &irq) < 0) die("KVM_IRQ_LINE");
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: irq FILE COUNT WARMUP\n"); return 2; }
  long count = atol(argv[2]), warmup = atol(argv[3]);
  uint64_t *lat = calloc(count, sizeof *lat);
  if (count <= 0 || warmup < 0 || !lat) { fprintf(stderr, "irq: bad COUNT or WARMUP\n"); return 2; }

  struct flat_guest g = flat_guest_vm();
  int vm = g.vm;
  if (ioctl(vm, KVM_SET_TSS_ADDR, TSS_ADDR) < 0) die("KVM_SET_TSS_ADDR");
  uint64_t identity = IDENTITY_MAP_ADDR;
  if (ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0) die("KVM_SET_IDENTITY_MAP_ADDR");
  if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) die("KVM_CREATE_IRQCHIP");
  struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
  if (ioctl(vm, KVM_CREATE_PIT2, &pit) < 0) die("KVM_CREATE_PIT2");
  flat_guest_load(&g, argv[1]);
  int vcpu = g.vcpu;
  struct kvm_run *run = g.run;

  /* LINT0 delivers the PIC's interrupts (ExtINT), LINT1 the NMI, as tsvmm's setupLapicLints does. */
  struct kvm_lapic_state lapic;
  if (ioctl(vcpu, KVM_GET_LAPIC, &lapic) < 0) die("KVM_GET_LAPIC");
  set_lvt(&lapic, APIC_LVT_LINT0, APIC_MODE_EXTINT);
  set_lvt(&lapic, APIC_LVT_LINT1, APIC_MODE_NMI);
  if (ioctl(vcpu, KVM_SET_LAPIC, &lapic) < 0) die("KVM_SET_LAPIC");

  long total = count + warmup, raised = 0, acked = 0;
  uint64_t t0 = 0;
  for (;;) {
    if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
    if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT) {
      fprintf(stderr, "irq: unexpected exit %u\n", run->exit_reason);
      return 1;
    }
    if (run->io.port == READY_PORT) {
      if (raised != acked) { fprintf(stderr, "irq: ready before ack\n"); return 1; }
      if (raised == total) break;
      raised++;
      t0 = now_ns();
      irq_line(vm, 1);
      irq_line(vm, 0);
    } else if (run->io.port == ACK_PORT) {
      uint64_t t1 = now_ns();
      if (acked >= warmup) lat[acked - warmup] = t1 - t0;
      acked++;
    } else {
      fprintf(stderr, "irq: OUT to unexpected port 0x%x\n", run->io.port);
      return 1;
    }
  }
  for (long i = 0; i < count; i++) printf("%llu\n", (unsigned long long)lat[i]);
  return 0;
}
