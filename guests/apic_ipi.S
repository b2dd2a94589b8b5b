# apic_ipi: self-IPIs, then an IPI from the boot CPU to an application processor.
# Flat, 32-bit protected mode at 0x100000; run: tsvmm run --mode protected --irqchip --cpus 2 FILE.
#   1. Self-IPI of vector 0x60 through the ICR's "self" shorthand, then to the BSP's own APIC ID (physical,
#      no shorthand): the handler runs once for each, on APIC ID 0.
#   2. The BSP wakes the AP with INIT-SIPI-SIPI; the AP enters protected mode, loads the shared IDT,
#      software-enables its local APIC, says ready and halts with interrupts on. The BSP sends a fixed IPI
#      of vector 0x61 to the AP's APIC ID; the AP's handler records the APIC ID it runs on. The BSP checks
#      the vector ran once, on the AP, and not on itself.
# Output:
#   self-ipi: vector 0x60 twice on apic 0
#   ipi: vector 0x61 from apic 0 to apic <n>, handled there
# Exit: 0x10 (status 33). Failures: 0x71 the shorthand self-IPI did not arrive once, 0x72 the physical one,
# 0x73 the AP never said ready, 0x74 the IPI never ran, 0x75 it ran on the wrong CPU, 0x76 it ran more than
# once, 0x77 a self-IPI ran on another CPU; 0x4f an unexpected vector.
	.code32
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0xf4
	.set LAPIC, 0xfee00000
	.set LAPIC_ID, LAPIC + 0x20
	.set LAPIC_EOI, LAPIC + 0xb0
	.set LAPIC_SVR, LAPIC + 0xf0
	.set LAPIC_ICR_LOW, LAPIC + 0x300
	.set LAPIC_ICR_HIGH, LAPIC + 0x310
	.set ICR_SELF, 0x40000
	.set ICR_PENDING, 0x1000
	.set ICR_INIT_ALL_BUT_SELF, 0x000c4500
	.set ICR_SIPI_ALL_BUT_SELF, 0x000c4600
	.set TRAMPOLINE, 0x7000
	.set PM_1MS, 3580

	.text
	.globl _start
_start:
	cli
	mov $stack_top, %esp
	call setup_idt
	mov $0x60, %ecx
	mov $self_handler, %eax
	call set_gate
	mov $0x61, %ecx
	mov $ipi_handler, %eax
	call set_gate
	call pm_find
	movl $0x1ff, LAPIC_SVR

	# 1. Self-IPIs.
	movl $(ICR_SELF | 0x60), LAPIC_ICR_LOW
	call open_window
	mov $0x71, %eax
	cmpl $1, self_count
	jne fail
	mov LAPIC_ID, %ebx
	mov %ebx, LAPIC_ICR_HIGH	# destination: our own APIC ID (ID is in bits 31:24 of both)
	movl $0x60, LAPIC_ICR_LOW	# fixed, physical, no shorthand
	call open_window
	mov $0x72, %eax
	cmpl $2, self_count
	jne fail
	mov $0x77, %eax
	cmpl $0, self_elsewhere
	jne fail
	mov $s_self, %esi
	call puts

	# 2. Wake the AP and wait for it to say ready.
	call start_aps
	call pm_now
	mov %eax, %ebx
1:	cmpl $0, ap_ready
	jne 2f
	pause
	call pm_since
	cmp $(1000 * PM_1MS), %eax
	jb 1b
	mov $0x73, %eax
	jmp fail
2:	call wait_icr_idle
	mov ap_apic_id, %eax
	shl $24, %eax
	mov %eax, LAPIC_ICR_HIGH
	movl $0x61, LAPIC_ICR_LOW	# fixed, physical, edge
	call pm_now
	mov %eax, %ebx
3:	cmpl $0, ipi_count
	jne 4f
	pause
	call pm_since
	cmp $(1000 * PM_1MS), %eax
	jb 3b
	mov $0x74, %eax
	jmp fail
4:	call open_window		# anything else has 10 ms to show up
	mov $0x76, %eax
	cmpl $1, ipi_count
	jne fail
	mov $0x75, %eax
	mov ipi_cpu, %ebx
	cmp ap_apic_id, %ebx
	jne fail
	test %ebx, %ebx
	jz fail
	mov $s_ipi, %esi
	call puts
	mov ipi_cpu, %eax
	call putdec
	mov $s_there, %esi
	call puts
	mov $0x10, %eax
	out %eax, $DEBUG_EXIT
1:	hlt
	jmp 1b

# The AP: the shared IDT, its local APIC on, ready, halted with interrupts on.
ap_main:
	lidt idtr
	movl $0x1ff, LAPIC_SVR
	mov LAPIC_ID, %eax
	shr $24, %eax
	mov %eax, ap_apic_id
	lock incl ap_ready
1:	sti
	hlt
	jmp 1b

# open_window: 10 ms with interrupts on. Clobbers EAX, EBX, ECX, EDX.
open_window:
	sti
	mov $(10 * PM_1MS), %ecx
	call pm_wait
	cli
	ret

# wait_icr_idle: until the ICR's delivery status reads idle. Clobbers EAX.
wait_icr_idle:
1:	mov LAPIC_ICR_LOW, %eax
	test $ICR_PENDING, %eax
	jz 2f
	pause
	jmp 1b
2:	ret

self_handler:
	push %eax
	incl self_count
	mov LAPIC_ID, %eax
	test %eax, %eax
	jz 1f
	incl self_elsewhere
1:	movl $0, LAPIC_EOI
	pop %eax
	jmp interrupt_return

ipi_handler:
	push %eax
	mov LAPIC_ID, %eax
	shr $24, %eax
	mov %eax, ipi_cpu
	lock incl ipi_count
	movl $0, LAPIC_EOI
	pop %eax
	jmp interrupt_return

	.balign 4
self_count:	.long 0
self_elsewhere:	.long 0
ap_ready:	.long 0
ap_apic_id:	.long 0
ipi_count:	.long 0
ipi_cpu:	.long 0
s_self:		.asciz "self-ipi: vector 0x60 twice on apic 0\n"
s_ipi:		.asciz "ipi: vector 0x61 from apic 0 to apic "
s_there:	.asciz ", handled there\n"

.include "lib/pm_timer32.inc"
.include "lib/ap_start32.inc"
.include "lib/apic_runtime32.inc"
