# emu_long_misc: 64-bit mode details: 32-bit results zero-extend (even XCHG EAX,EAX and a CMOV not taken),
# REX byte registers, MOVSXD, PUSH imm32 sign extension, 16-bit PUSH, RIP-relative operands followed by an
# immediate, 64-bit moffs, the 32-bit address size, CMPXCHG16B, LOOP/JRCXZ on 64-bit RCX and JECXZ, FS/GS
# bases from their MSRs and SWAPGS, and selector loads resetting FS's base.
# Build: buildFlat("emu_long_misc.S", 0x100000); run: tsvmm run --mode long FILE (load 0x100000).
# Cases (failure code = exit value):
#   1  87 c0 (xchg %eax,%eax) with RAX = -1: RAX = 0xffffffff; 90 (nop) keeps RAX
#   2  mov %eax,%eax zero-extends
#   3  cmovz %ecx,%eax not taken still zero-extends RAX (SDM CMOVcc, 64-bit mode)
#   4  mov $0x11,%sil sets RSI's low byte (REX: SIL, not DH); mov $0x22,%ah sets bits 15:8
#   5  movslq 0x80000000 = 0xffffffff80000000
#   6  pushq $-2 pushes 0xfffffffffffffffe; pushw $0x1234 moves RSP by 2
#   7  movl $0x12345678,rr(%rip) and cmpb $0x78,rr(%rip): the displacement counts from the end of the
#      instruction, immediate included; checked through an absolute address
#   8  movabs %eax,0x300000 and movabs 0x300000,%al (64-bit moffs)
#   9  addr32 lea -1(%eax),%rcx with EAX = 0: the address wraps to 32 bits: RCX = 0xffffffff
#  10  cmpxchg16b: RDX:RAX equal -> ZF, memory = RCX:RBX
#  11  loop with RCX = 0x100000000 is taken (RCX -> 0xffffffff); jrcxz not taken; jecxz with
#      RCX = 0x100000000 (ECX 0) is taken
#  12  FS_BASE = 0x300000: mov %fs:0x10 reads 0x300010; GS_BASE/KERNEL_GS_BASE swapped by SWAPGS
#  13  mov %ax,%fs with a flat selector sets FS's base to the descriptor's (0): FS_BASE reads 0
# Expected output on COM1: "long misc: 13 cases ok\n"
# Exit: 0x2e to port 0xf4 (isa-debug-exit) -> status (0x2e<<1)|1 = 93.
	.code64
	.text
	.globl _start
_start:
	cli
	lea s_head(%rip), %rsi
	call puts

	# 1
	mov $-1, %rax
	.byte 0x87, 0xc0		# xchg %eax, %eax
	mov $1, %bl
	mov $0xffffffff, %ecx
	cmp %rcx, %rax
	jne fail
	mov $-1, %rax
	nop
	cmp $-1, %rax
	jne fail
	# 2
	mov $-1, %rax
	mov %eax, %eax
	mov $2, %bl
	cmp %rcx, %rax
	jne fail
	# 3
	mov $-1, %rax
	mov $5, %ecx
	test %ecx, %ecx			# ZF clear: not taken
	cmovz %ecx, %eax
	mov $3, %bl
	mov $0xffffffff, %ecx
	cmp %rcx, %rax
	jne fail
	# 4
	xor %esi, %esi
	xor %edx, %edx
	mov $0x11, %sil
	mov $4, %bl
	cmp $0x11, %rsi
	jne fail
	test %rdx, %rdx
	jnz fail
	xor %eax, %eax
	mov $0x22, %ah
	cmp $0x2200, %rax
	jne fail
	# 5
	mov $0x80000000, %ecx
	movslq %ecx, %rax
	mov $5, %bl
	movabs $0xffffffff80000000, %rcx
	cmp %rcx, %rax
	jne fail
	# 6
	pushq $-2
	pop %rax
	mov $6, %bl
	cmp $-2, %rax
	jne fail
	mov %rsp, %rdi
	pushw $0x1234
	mov %rdi, %rax
	sub %rsp, %rax
	cmp $2, %rax
	jne fail
	popw %ax
	# 7
	movl $0, rr(%rip)
	movl $0x12345678, rr(%rip)
	mov $7, %bl
	lea rr(%rip), %rdi
	cmpl $0x12345678, (%rdi)
	jne fail
	cmpb $0x78, rr(%rip)
	jne fail
	cmpl $0, rr + 4(%rip)		# the neighbour untouched
	jne fail
	# 8
	mov $0xcafef00d, %eax
	movabs %eax, 0x300000
	xor %eax, %eax
	movabs 0x300000, %al
	mov $8, %bl
	cmp $0x0d, %eax
	jne fail
	cmpl $0xcafef00d, 0x300000
	jne fail
	# 9
	xor %eax, %eax
	addr32 lea -1(%eax), %rcx
	mov $9, %bl
	mov $0xffffffff, %edx
	cmp %rdx, %rcx
	jne fail
	# 10
	movabs $0x1111111111111111, %rax
	movabs $0x2222222222222222, %rdx
	mov %rax, o16(%rip)
	mov %rdx, o16 + 8(%rip)
	movabs $0x3333333333333333, %rbx
	movabs $0x4444444444444444, %rcx
	cmpxchg16b o16(%rip)
	mov $10, %bl
	jnz fail
	movabs $0x3333333333333333, %rax
	cmp %rax, o16(%rip)
	jne fail
	movabs $0x4444444444444444, %rax
	cmp %rax, o16 + 8(%rip)
	jne fail
	# 11
	mov $11, %bl
	movabs $0x100000000, %rcx
	loop 1f
	jmp fail
1:	mov $0xffffffff, %eax
	cmp %rax, %rcx
	jne fail
	movabs $0x100000000, %rcx
	jrcxz 2f
	jecxz 1f			# (67 e3 in 64-bit mode: tests ECX)
2:	jmp fail
1:
	# 12
	mov $0x300000, %edi
	movl $0x600d0010, 0x10(%rdi)
	movl $0x600d0020, 0x20(%rdi)
	mov $0xc0000100, %ecx		# FS_BASE
	mov $0x300000, %eax
	xor %edx, %edx
	wrmsr
	mov $0xc0000101, %ecx		# GS_BASE
	mov $0x300010, %eax
	wrmsr
	mov $0xc0000102, %ecx		# KERNEL_GS_BASE
	mov $0x300000, %eax
	wrmsr
	mov $12, %bl
	cmpl $0x600d0010, %fs:0x10
	jne fail
	cmpl $0x600d0020, %gs:0x10
	jne fail
	swapgs
	cmpl $0x600d0020, %gs:0x20
	jne fail
	mov $0xc0000102, %ecx
	rdmsr
	cmp $0x300010, %eax
	jne fail
	swapgs
	# 13
	mov $0x10, %eax
	mov %ax, %fs
	mov $0xc0000100, %ecx
	rdmsr
	mov $13, %bl
	or %edx, %eax
	jnz fail

	lea s_ok(%rip), %rsi
	call puts
	mov $0x2e, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# fail: prints " FAIL\n" and exits with the code in BL.
fail:
	lea s_fail(%rip), %rsi
	call puts
	movzbl %bl, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# puts: writes the NUL-terminated string at RSI to COM1. Clobbers AL, DX, RSI.
puts:
	mov $0x3f8, %dx
1:	movb (%rsi), %al
	test %al, %al
	jz 2f
	out %al, (%dx)
	inc %rsi
	jmp 1b
2:	ret

	.balign 16
o16:	.quad 0, 0
rr:	.long 0, 0
s_head:	.asciz "long misc:"
s_ok:	.asciz " 13 cases ok\n"
s_fail:	.asciz " FAIL\n"
