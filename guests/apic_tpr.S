# apic_tpr: the task priority register masking an interrupt until lowered. Self-IPIs (ICR shorthand self,
# fixed, edge) through the xAPIC page; priority classes are vector >> 4.
# Flat, 32-bit protected mode at 0x100000; run: tsvmm run --mode protected --irqchip FILE.
#   1. TPR = 0x50: a self-IPI of vector 0x58 (class 5, not above the TPR's class) stays pending: its IRR bit
#      is set and, with interrupts on for 10 ms, its handler does not run.
#   2. A self-IPI of vector 0x68 (class 6) is delivered at once, 0x58 still pending behind it.
#   3. TPR = 0x40: 0x58 is delivered as soon as interrupts are on, its IRR bit clear.
#   4. TPR = 0xf0 masks every class: a self-IPI of vector 0xe5 (class 14) waits; TPR = 0 lets it in.
# In each handler the vector's ISR bit must be set and PPR must read the vector's class (PPR[7:4]).
# Output:
#   tpr 0x50: 0x58 pending, 0x68 delivered
#   tpr 0x40: 0x58 delivered
#   tpr 0xf0: 0xe5 pending, tpr 0x00: delivered
# Exit: 0x10 (status 33). Failures: 0x61 0x58 delivered through TPR 0x50, 0x62 its IRR bit clear, 0x63 0x68
# not delivered, 0x64 0x58 delivered with 0x68, 0x65 0x58 not delivered after lowering, 0x66 its IRR bit
# still set, 0x67 0xe5 delivered through TPR 0xf0, 0x68 0xe5 not delivered after TPR 0, 0x69 a handler
# found its ISR bit clear, 0x6a a handler found PPR below its class; 0x4f an unexpected vector.
	.code32
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0xf4
	.set LAPIC, 0xfee00000
	.set LAPIC_TPR, LAPIC + 0x80
	.set LAPIC_PPR, LAPIC + 0xa0
	.set LAPIC_EOI, LAPIC + 0xb0
	.set LAPIC_SVR, LAPIC + 0xf0
	.set LAPIC_ISR, LAPIC + 0x100
	.set LAPIC_IRR, LAPIC + 0x200
	.set LAPIC_ICR_LOW, LAPIC + 0x300
	.set ICR_SELF, 0x40000
	.set PM_1MS, 3580

	.text
	.globl _start
_start:
	cli
	mov $stack_top, %esp
	call setup_idt
	mov $0x58, %ecx
	mov $handler_58, %eax
	call set_gate
	mov $0x68, %ecx
	mov $handler_68, %eax
	call set_gate
	mov $0xe5, %ecx
	mov $handler_e5, %eax
	call set_gate
	call pm_find
	movl $0x1ff, LAPIC_SVR

	# 1. TPR 0x50 holds back 0x58.
	movl $0x50, LAPIC_TPR
	movl $(ICR_SELF | 0x58), LAPIC_ICR_LOW
	call open_window
	mov $0x61, %eax
	cmpl $0, count_58
	jne fail
	mov $0x58, %ecx
	call irr_bit
	mov $0x62, %eax
	jnc fail
	# 2. 0x68 is above it.
	movl $(ICR_SELF | 0x68), LAPIC_ICR_LOW
	call open_window
	mov $0x63, %eax
	cmpl $1, count_68
	jne fail
	mov $0x64, %eax
	cmpl $0, count_58
	jne fail
	mov $s_tpr50, %esi
	call puts
	# 3. Lowering the TPR lets 0x58 in.
	movl $0x40, LAPIC_TPR
	call open_window
	mov $0x65, %eax
	cmpl $1, count_58
	jne fail
	mov $0x58, %ecx
	call irr_bit
	mov $0x66, %eax
	jc fail
	mov $s_tpr40, %esi
	call puts
	# 4. TPR 0xf0 holds back everything; 0 lets it in.
	movl $0xf0, LAPIC_TPR
	movl $(ICR_SELF | 0xe5), LAPIC_ICR_LOW
	call open_window
	mov $0x67, %eax
	cmpl $0, count_e5
	jne fail
	movl $0, LAPIC_TPR
	call open_window
	mov $0x68, %eax
	cmpl $1, count_e5
	jne fail
	mov $0x69, %eax
	cmpl $0, isr_clear
	jne fail
	mov $0x6a, %eax
	cmpl $0, ppr_low
	jne fail
	mov $s_tprf0, %esi
	call puts
	mov $0x10, %eax
	out %eax, $DEBUG_EXIT
1:	hlt
	jmp 1b

# open_window: 10 ms with interrupts on. Clobbers EAX, EBX, ECX, EDX.
open_window:
	sti
	mov $(10 * PM_1MS), %ecx
	call pm_wait
	cli
	ret

# irr_bit: CF = the local APIC's IRR bit for vector ECX. Clobbers EAX, EDX.
irr_bit:
	mov %ecx, %edx
	shr $5, %edx
	shl $4, %edx
	mov LAPIC_IRR(%edx), %eax
	mov %ecx, %edx
	and $31, %edx
	bt %edx, %eax
	ret

# in_service: checks, for the vector in ECX, its ISR bit and PPR >= its class. Clobbers EAX, EDX.
in_service:
	mov %ecx, %edx
	shr $5, %edx
	shl $4, %edx
	mov LAPIC_ISR(%edx), %eax
	mov %ecx, %edx
	and $31, %edx
	bt %edx, %eax
	jc 1f
	incl isr_clear
1:	mov LAPIC_PPR, %eax
	and $0xf0, %eax
	mov %ecx, %edx
	and $0xf0, %edx
	cmp %edx, %eax
	jae 2f
	incl ppr_low
2:	ret

handler_58:
	push %eax
	push %ecx
	push %edx
	mov $0x58, %ecx
	call in_service
	incl count_58
	jmp eoi_return
handler_68:
	push %eax
	push %ecx
	push %edx
	mov $0x68, %ecx
	call in_service
	incl count_68
	jmp eoi_return
handler_e5:
	push %eax
	push %ecx
	push %edx
	mov $0xe5, %ecx
	call in_service
	incl count_e5
eoi_return:
	movl $0, LAPIC_EOI
	pop %edx
	pop %ecx
	pop %eax
	jmp interrupt_return

	.balign 4
count_58:	.long 0
count_68:	.long 0
count_e5:	.long 0
isr_clear:	.long 0
ppr_low:	.long 0
s_tpr50:	.asciz "tpr 0x50: 0x58 pending, 0x68 delivered\n"
s_tpr40:	.asciz "tpr 0x40: 0x58 delivered\n"
s_tprf0:	.asciz "tpr 0xf0: 0xe5 pending, tpr 0x00: delivered\n"

.include "lib/pm_timer32.inc"
.include "lib/apic_runtime32.inc"
