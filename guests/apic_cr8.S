# apic_cr8: CR8, the task priority register's 64-bit alias, masking an interrupt until lowered. Long mode
# (tsvmm's --mode long entry: 64-bit code, the first 4 GiB identity-mapped), xAPIC page at 0xfee00000.
# Flat at 0x100000; run: tsvmm run --mode long --irqchip FILE (assembled with as --64).
#   1. CR8 = 5 reads back as TPR 0x50 through the xAPIC page; TPR 0x30 written there reads back as CR8 = 3.
#   2. CR8 = 5: a self-IPI of vector 0x58 (class 5) stays pending (IRR bit set, handler not run in 10 ms
#      with interrupts on); vector 0x68 (class 6) is delivered at once.
#   3. CR8 = 4: 0x58 is delivered.
# Output:
#   cr8: 5 <-> tpr 0x50, tpr 0x30 <-> 3
#   cr8 5: 0x58 pending, 0x68 delivered; cr8 4: 0x58 delivered
# Exit: 0x10 (status 33). Failures: 0xa1 CR8 -> TPR, 0xa2 TPR -> CR8, 0xa3 0x58 delivered through CR8 5,
# 0xa4 its IRR bit clear, 0xa5 0x68 not delivered, 0xa6 0x58 not delivered after CR8 4; 0x4f an unexpected
# vector.
	.code64
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0xf4
	.set LAPIC, 0xfee00000
	.set LAPIC_TPR, LAPIC + 0x80
	.set LAPIC_EOI, LAPIC + 0xb0
	.set LAPIC_SVR, LAPIC + 0xf0
	.set LAPIC_IRR_58, LAPIC + 0x220	# IRR bits 64-95
	.set LAPIC_ICR_LOW, LAPIC + 0x300
	.set ICR_SELF, 0x40000
	.set PM_1MS, 3580

	.text
	.globl _start
_start:
	cli
	lea stack_top(%rip), %rsp
	xor %ecx, %ecx			# every vector to its "unexpected" stub
1:	mov %ecx, %eax
	shl $4, %eax
	lea stubs(%rip), %rdx
	add %rdx, %rax
	call set_gate
	inc %ecx
	cmp $256, %ecx
	jb 1b
	mov $0x58, %ecx
	lea handler_58(%rip), %rax
	call set_gate
	mov $0x68, %ecx
	lea handler_68(%rip), %rax
	call set_gate
	lidt idtr(%rip)
	mov $0xff, %al			# both 8259s masked
	out %al, $0x21
	out %al, $0xa1
	mov $LAPIC_SVR, %ebx
	movl $0x1ff, (%rbx)

	# 1. CR8 and TPR are one register.
	mov $5, %eax
	mov %rax, %cr8
	mov $LAPIC_TPR, %ebx
	mov (%rbx), %eax
	and $0xf0, %eax
	cmp $0x50, %eax
	mov $0xa1, %eax
	jne fail
	movl $0x30, (%rbx)
	mov %cr8, %rax
	cmp $3, %rax
	mov $0xa2, %eax
	jne fail
	lea s_alias(%rip), %rsi
	call puts

	# 2. CR8 = 5 holds back 0x58, not 0x68.
	mov $5, %eax
	mov %rax, %cr8
	mov $LAPIC_ICR_LOW, %ebx
	movl $(ICR_SELF | 0x58), (%rbx)
	call open_window
	cmpl $0, count_58(%rip)
	mov $0xa3, %eax
	jne fail
	mov $LAPIC_IRR_58, %ebx
	mov (%rbx), %eax
	bt $24, %eax
	mov $0xa4, %eax
	jnc fail
	mov $LAPIC_ICR_LOW, %ebx
	movl $(ICR_SELF | 0x68), (%rbx)
	call open_window
	cmpl $1, count_68(%rip)
	mov $0xa5, %eax
	jne fail
	cmpl $0, count_58(%rip)
	mov $0xa3, %eax
	jne fail
	# 3. CR8 = 4 lets it in.
	mov $4, %eax
	mov %rax, %cr8
	call open_window
	cmpl $1, count_58(%rip)
	mov $0xa6, %eax
	jne fail
	lea s_masked(%rip), %rsi
	call puts
	mov $0x10, %eax
	out %eax, $DEBUG_EXIT
1:	hlt
	jmp 1b

# open_window: 10 ms of PM time (port 0x608) with interrupts on. Clobbers RAX, RBX, RCX, RDX.
open_window:
	sti
	mov $0x608, %edx
	in (%dx), %eax
	mov %eax, %ebx
1:	in (%dx), %eax
	sub %ebx, %eax
	and $0xffffff, %eax
	cmp $(10 * PM_1MS), %eax
	jb 1b
	cli
	ret

handler_58:
	incl count_58(%rip)
	jmp eoi_return
handler_68:
	incl count_68(%rip)
eoi_return:
	push %rbx
	mov $LAPIC_EOI, %ebx
	movl $0, (%rbx)
	pop %rbx
	jmp interrupt_return

# interrupt_return: IRETQ without IRETQ (this host's KVM emulates ring-0 code, and its emulator has no
# protected- or long-mode IRET; see pit_count.S). The frame is RIP, CS, RFLAGS, RSP, SS of ring-0 code
# (CS and SS unchanged): RFLAGS without IF and RIP go just below the interrupted RSP, RSP moves there,
# POPFQ, STI, RET. IF stays clear until the STI, so the one scratch slot is safe.
interrupt_return:
	push %rax
	push %rbx
	push %rcx
	mov 24(%rsp), %rax		# RIP
	mov 40(%rsp), %rbx		# RFLAGS
	mov 48(%rsp), %rcx		# RSP
	and $~0x200, %rbx
	mov %rax, -8(%rcx)
	mov %rbx, -16(%rcx)
	sub $16, %rcx
	mov %rcx, scratch_rsp(%rip)
	pop %rcx
	pop %rbx
	pop %rax
	mov scratch_rsp(%rip), %rsp
	popfq
	sti
	ret

# set_gate: IDT entry ECX becomes a 64-bit interrupt gate (DPL 0, selector CS) to the handler at RAX.
set_gate:
	mov %ecx, %edx
	shl $4, %edx
	lea idt(%rip), %rdi
	add %rdx, %rdi
	mov %ax, (%rdi)
	mov %cs, %dx
	mov %dx, 2(%rdi)
	movw $0x8e00, 4(%rdi)
	mov %rax, %rdx
	shr $16, %rdx
	mov %dx, 6(%rdi)
	shr $16, %rdx
	mov %edx, 8(%rdi)
	movl $0, 12(%rdi)
	ret

# puts: the NUL-terminated string at RSI to COM1. Clobbers RAX, RDX, RSI.
puts:
	mov $COM1, %dx
1:	lodsb
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	ret

# puthex8: AL as two hex digits. Clobbers RAX, RBX, RDX.
puthex8:
	movzbl %al, %ebx
	mov $COM1, %dx
	mov %ebx, %eax
	shr $4, %eax
	lea hexdigits(%rip), %rdx
	movzbl (%rdx,%rax), %eax
	mov $COM1, %dx
	out %al, (%dx)
	mov %ebx, %eax
	and $0xf, %eax
	lea hexdigits(%rip), %rdx
	movzbl (%rdx,%rax), %eax
	mov $COM1, %dx
	out %al, (%dx)
	ret

# fail: prints "FAIL 0x<code>" and exits through isa-debug-exit with the code in EAX.
fail:
	cli
	mov %eax, %ebp
	lea s_fail(%rip), %rsi
	call puts
	mov %ebp, %eax
	call puthex8
	mov $'\n', %al
	out %al, (%dx)
	mov %ebp, %eax
	out %eax, $DEBUG_EXIT
1:	hlt
	jmp 1b

# unexpected: the stubs push their vector and come here: "unexpected vector 0x<hh>", exit code 0x4f.
unexpected:
	cli
	lea s_unexpected(%rip), %rsi
	call puts
	pop %rax
	call puthex8
	mov $'\n', %al
	out %al, (%dx)
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

	.balign 8
count_58:	.long 0
count_68:	.long 0
scratch_rsp:	.quad 0
hexdigits:	.ascii "0123456789abcdef"
s_fail:		.asciz "FAIL 0x"
s_unexpected:	.asciz "unexpected vector 0x"
s_alias:	.asciz "cr8: 5 <-> tpr 0x50, tpr 0x30 <-> 3\n"
s_masked:	.asciz "cr8 5: 0x58 pending, 0x68 delivered; cr8 4: 0x58 delivered\n"
	.balign 8
	.word 0, 0, 0
idtr:	.word 256 * 16 - 1
	.quad idt
	.balign 16
idt:	.fill 256 * 16, 1, 0
	.balign 16
	.fill 4096, 1, 0
stack_top:
