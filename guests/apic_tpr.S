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

# pm_find: the PM timer's port from the FADT (PM_TMR_BLK) into pm_port, found through the RSDP (0xe0000-
# 0xfffff) and the RSDT; 0x608 (tsvmm's port) when no FADT announces one. pm_source says which.
pm_find:
	movl $0x608, pm_port
	movl $s_default, pm_source
	mov $0xe0000, %esi
1:	cmpl $0x20445352, (%esi)	# "RSD "
	jne 2f
	cmpl $0x20525450, 4(%esi)	# "PTR "
	je 3f
2:	add $16, %esi
	cmp $0x100000, %esi
	jb 1b
	ret
3:	mov 16(%esi), %esi		# the RSDT
	cmpl $0x54445352, (%esi)	# "RSDT"
	jne 6f
	mov 4(%esi), %ecx		# its length
	sub $36, %ecx
	shr $2, %ecx
	lea 36(%esi), %edi
4:	test %ecx, %ecx
	jz 6f
	mov (%edi), %ebx
	cmpl $0x50434146, (%ebx)	# "FACP"
	je 5f
	add $4, %edi
	dec %ecx
	jmp 4b
5:	mov 76(%ebx), %eax		# PM_TMR_BLK
	test %eax, %eax
	jz 6f
	mov %eax, pm_port
	movl $s_fadt, pm_source
6:	ret

# pm_now: the PM timer's 24-bit count in EAX. Clobbers EDX.
pm_now:
	mov pm_port, %edx
	in (%dx), %eax
	and $0xffffff, %eax
	ret

# pm_since: PM ticks since the count in EBX (mod 2^24) in EAX. Clobbers EDX.
pm_since:
	call pm_now
	sub %ebx, %eax
	and $0xffffff, %eax
	ret

# pm_wait: busy-waits ECX PM ticks (ECX < 2^24). Clobbers EAX, EBX, EDX.
pm_wait:
	call pm_now
	mov %eax, %ebx
# pm_wait_from: busy-waits until ECX PM ticks have passed since the count in EBX. Clobbers EAX, EDX.
pm_wait_from:
1:	call pm_since
	cmp %ecx, %eax
	jb 1b
	ret

	.balign 4
pm_port:	.long 0x608
pm_source:	.long 0
s_fadt:		.asciz "fadt"
s_default:	.asciz "default"
# ---- common to the apic guests: IDT stubs, interrupt_return, console, failure exit ----

# setup_idt: every IDT entry becomes a 32-bit interrupt gate to its "unexpected" stub; loads the IDT and
# masks both 8259s (OCW1), so only the local APIC and the IOAPIC deliver. Clobbers EAX, ECX, EDX.
setup_idt:
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $4, %eax
	add $stubs, %eax
	call set_gate
	inc %ecx
	cmp $256, %ecx
	jb 1b
	lidt idtr
	mov $0xff, %al
	out %al, $0x21
	out %al, $0xa1
	ret

# set_gate: IDT entry ECX becomes a 32-bit interrupt gate (DPL 0, selector CS) to the handler at EAX.
set_gate:
	lea idt(,%ecx,8), %edx
	mov %ax, (%edx)
	push %eax
	mov %cs, %ax
	mov %ax, 2(%edx)
	pop %eax
	movw $0x8e00, 4(%edx)
	shr $16, %eax
	mov %ax, 6(%edx)
	ret

# interrupt_return: IRET without IRET (this host's KVM emulates ring-0 code and its instruction emulator
# runs IRET in real mode only; see pit_count.S). The frame is EIP, CS (unchanged), EFLAGS at CPL 0.
interrupt_return:
	push %eax
	mov 4(%esp), %eax
	push %ebx
	mov 16(%esp), %ebx
	mov %eax, 16(%esp)
	and $~0x200, %ebx
	mov %ebx, 12(%esp)
	pop %ebx
	pop %eax
	lea 4(%esp), %esp
	popf
	sti
	ret

# puts: the NUL-terminated string at ESI to COM1. Clobbers EAX, EDX, ESI.
puts:
	mov $COM1, %dx
1:	lodsb
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	ret

# putdec: EAX as unsigned decimal to COM1. Clobbers EAX, ECX, EDX.
putdec:
	xor %ecx, %ecx
1:	xor %edx, %edx
	push %ebx
	mov $10, %ebx
	div %ebx
	pop %ebx
	push %edx
	inc %ecx
	test %eax, %eax
	jnz 1b
	mov $COM1, %dx
2:	pop %eax
	add $'0', %al
	out %al, (%dx)
	loop 2b
	ret

# puthex8: AL as two lowercase hex digits. Clobbers EAX, EDX.
puthex8:
	push %ebx
	movzbl %al, %ebx
	mov $COM1, %dx
	mov %ebx, %eax
	shr $4, %eax
	movb hexdigits(%eax), %al
	out %al, (%dx)
	mov %ebx, %eax
	and $0xf, %eax
	movb hexdigits(%eax), %al
	out %al, (%dx)
	pop %ebx
	ret

newline:
	mov $'\n', %al
	mov $COM1, %dx
	out %al, (%dx)
	ret

# fail: prints "FAIL 0x<code>" and exits through isa-debug-exit with the code in EAX.
fail:
	cli
	push %eax
	mov $s_fail, %esi
	call puts
	mov (%esp), %eax
	call puthex8
	call newline
	pop %eax
	out %eax, $DEBUG_EXIT
1:	hlt
	jmp 1b

# unexpected: the stubs push their vector and come here: "unexpected vector 0x<hh>", exit code 0x4f.
unexpected:
	cli
	mov $s_unexpected, %esi
	call puts
	pop %eax
	call puthex8
	call newline
	mov $0x4f, %eax
	out %eax, $DEBUG_EXIT
1:	hlt
	jmp 1b

	.balign 16
stubs:
	.set vector, 0
	.rept 256
	.balign 16
	push $vector
	jmp unexpected
	.set vector, vector + 1
	.endr

hexdigits:	.ascii "0123456789abcdef"
s_fail:		.asciz "FAIL 0x"
s_unexpected:	.asciz "unexpected vector 0x"
	.balign 4
	.word 0
idtr:	.word 256 * 8 - 1
	.long idt
	.balign 8
idt:	.fill 256 * 8, 1, 0
	.balign 16
	.fill 4096, 1, 0
stack_top:
