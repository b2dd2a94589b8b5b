# emu_msrs: the MSRs a kernel touches, in 64-bit mode: each reads without a fault, the writable ones read back
# what was written, and the SDM's #GP cases fault: an MSR the CPU does not have (read and write), a write to
# the read-only MTRRcap, a non-canonical LSTAR/FS_BASE, a reserved EFER bit, EFER.LME changed with paging
# on, a PAT entry with a reserved memory type (2, 3 or 8 and up), TSC_AUX bits 63:32.
# Build: buildFlat("emu_msrs.S", 0x100000); run: tsvmm run --mode long FILE (load 0x100000).
# Failure codes (exit value): 0x01 a read in the list faulted (R12 holds the MSR), 0x02 a write/read-back
# mismatch or fault (R12 holds the MSR), 0x03 the TSC did not continue from the value written, 0x10 + n:
# #GP case n did not fault (or faulted with an error code other than 0). Any other exception: 0x40 + vector.
# (QEMU TCG 7.2 returns 0 for MSRs it lacks and ignores TSC writes: no reference here.)
# Expected output on COM1: "msrs: read write tsc gp ok\n"
# Exit: 0x2b to port 0xf4 (isa-debug-exit) -> status (0x2b<<1)|1 = 87.
	.code64
	.text
	.globl _start
_start:
	cli
	lea s_head(%rip), %rsi
	call puts

	lea idt(%rip), %rdi
	lea stubs(%rip), %rdx
	xor %ecx, %ecx
1:	mov %rdx, r_tmp(%rip)
	mov %dx, (%rdi)
	movw $0x18, 2(%rdi)
	movw $0x8e00, 4(%rdi)
	mov r_tmp + 2(%rip), %ax
	mov %ax, 6(%rdi)
	mov r_tmp + 4(%rip), %eax
	mov %eax, 8(%rdi)
	movl $0, 12(%rdi)
	add $16, %rdi
	add $16, %rdx
	inc %ecx
	cmp $32, %ecx
	jne 1b
	lidt idt_desc(%rip)

	# every MSR in the list reads without a fault (a #GP here lands in `unexpected`: R12 names it)
	lea read_list(%rip), %rbx
1:	mov (%rbx), %ecx
	test %ecx, %ecx
	jz 2f
	mov %ecx, %r12d
	movb $1, in_read(%rip)
	rdmsr
	movb $0, in_read(%rip)
	add $4, %rbx
	jmp 1b
2:	lea s_read(%rip), %rsi
	call puts

	# write and read back: (MSR, value) pairs
	lea write_list(%rip), %rbx
1:	mov (%rbx), %ecx
	test %ecx, %ecx
	jz 2f
	mov %ecx, %r12d
	mov 8(%rbx), %eax
	mov 12(%rbx), %edx
	movb $2, in_read(%rip)
	wrmsr
	xor %eax, %eax
	xor %edx, %edx
	rdmsr
	movb $0, in_read(%rip)
	cmp 8(%rbx), %eax
	jne 9f
	cmp 12(%rbx), %edx
	jne 9f
	add $16, %rbx
	jmp 1b
9:	mov $2, %bl
	jmp fail
2:	lea s_write(%rip), %rsi
	call puts

	# the TSC continues from a written value: write 2^40, read back something in [2^40, 2^40 + 2^36)
	mov $0x10, %ecx
	xor %eax, %eax
	mov $0x100, %edx
	wrmsr
	rdmsr
	mov $3, %bl
	cmp $0x100, %edx
	jb fail
	cmp $0x110, %edx
	jae fail
	lea s_tsc(%rip), %rsi
	call puts

# GP n, msr, value_hi, value_lo, insn: insn (rdmsr or wrmsr with ECX = msr, EDX:EAX = value) must #GP(0).
.macro GP n, msr, hi, lo, insn
	movq $3f, r_resume(%rip)
	mov %rsp, r_rsp(%rip)
	movq $-2, r_vec(%rip)
	mov $\msr, %ecx
	mov $\hi, %edx
	mov $\lo, %eax
	\insn
3:	mov $0x10 + \n, %bl
	cmpq $13, r_vec(%rip)
	jne fail
	cmpq $0, r_err(%rip)
	jne fail
.endm

	GP 0, 0x00012345, 0, 0, rdmsr			# no such MSR
	GP 1, 0x00012345, 0, 0, wrmsr
	GP 2, 0xc0000090, 0, 0, rdmsr			# no such MSR either
	GP 3, 0x000000fe, 0, 0x508, wrmsr		# MTRRcap is read-only
	GP 4, 0xc0000082, 0x00008000, 0, wrmsr		# LSTAR 0x0000800000000000: not canonical
	GP 5, 0xc0000100, 0x00008000, 0, wrmsr		# FS_BASE: the same
	GP 6, 0xc0000080, 0, 0x00000d03, wrmsr		# EFER bit 1: reserved (SCE LME LMA NXE kept)
	GP 7, 0xc0000080, 0, 0x00000c01, wrmsr		# EFER.LME cleared with paging on
	GP 8, 0x00000277, 0x00070406, 0x00070402, wrmsr	# PAT entry 0 = 2: reserved type
	GP 9, 0x00000277, 0x00070406, 0x00070408, wrmsr	# PAT entry 0 = 8: reserved
	GP 10, 0xc0000103, 1, 0, wrmsr			# TSC_AUX bits 63:32 are reserved
	lea s_gp(%rip), %rsi
	call puts

	lea s_ok(%rip), %rsi
	call puts
	mov $0x2b, %eax
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

# common: a #GP expected by a GP case resumes there (vector and error code recorded); anything else fails.
common:
	popq r_vec(%rip)
	popq r_err(%rip)
	movzbl in_read(%rip), %ebx	# 1: a read in the list faulted, 2: a write/read-back did
	test %ebx, %ebx
	jnz fail
	mov r_vec(%rip), %rbx
	cmp $13, %rbx
	jne 2f
	cmpq $0, r_resume(%rip)
	je 2f
	mov r_rsp(%rip), %rsp
	mov r_resume(%rip), %rax
	movq $0, r_resume(%rip)
	jmp *%rax
2:	add $0x40, %ebx
	jmp fail

	.balign 16
stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign 16
	.if (\v == 8) || (\v >= 10 && \v <= 14) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
	.else
	pushq $-1
	.endif
	pushq $\v
	jmp common
	.endr

	.balign 4
read_list:
	.long 0x10, 0x1b, 0xfe, 0x174, 0x175, 0x176, 0x1a0, 0x277, 0x2ff, 0x200, 0x201, 0x250, 0x258, 0x268
	.long 0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000100, 0xc0000101, 0xc0000102
	.long 0xc0000103, 0
	.balign 8
# MSR (4 bytes, padded to 8), value low, value high
write_list:
	.long 0xc0000081, 0, 0x00000000, 0x00230010	# STAR
	.long 0xc0000082, 0, 0x00345678, 0xffff8000	# LSTAR 0xffff800000345678
	.long 0xc0000083, 0, 0x00123456, 0x00000000	# CSTAR
	.long 0xc0000084, 0, 0x00004700, 0x00000000	# SFMASK
	.long 0xc0000100, 0, 0x00300000, 0x00000000	# FS_BASE
	.long 0xc0000101, 0, 0x00400000, 0x00007fff	# GS_BASE 0x00007fff00400000
	.long 0xc0000102, 0, 0x00500000, 0x00000000	# KERNEL_GS_BASE
	.long 0x00000174, 0, 0x00000010, 0x00000000	# SYSENTER_CS
	.long 0x00000175, 0, 0x00007000, 0x00000000	# SYSENTER_ESP
	.long 0x00000176, 0, 0x00101000, 0x00000000	# SYSENTER_EIP
	.long 0x00000277, 0, 0x00010506, 0x00070106	# PAT: types 6 5 1 0 / 6 1 7 0 (all valid)
	.long 0xc0000103, 0, 0x00000007, 0x00000000	# TSC_AUX
	.long 0x00000200, 0, 0x00000006, 0x00000000	# MTRRphysBase0: WB at 0
	.long 0, 0, 0, 0
	.balign 16
	.word 0, 0, 0
idt_desc:
	.word 32 * 16 - 1
	.quad idt
	.balign 16
idt:
	.fill 32 * 16, 1, 0
r_resume: .quad 0
r_rsp:	.quad 0
r_vec:	.quad 0
r_err:	.quad 0
r_tmp:	.quad 0
in_read: .byte 0
s_head:	.asciz "msrs:"
s_read:	.asciz " read"
s_write: .asciz " write"
s_tsc:	.asciz " tsc"
s_gp:	.asciz " gp"
s_ok:	.asciz " ok\n"
s_fail:	.asciz " FAIL\n"
