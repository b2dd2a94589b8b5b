# emu_nested_faults: faults raised while an exception or interrupt is being delivered, in 64-bit mode (SDM
# vol. 3, 6.15 and table 6-5): the frame cannot be pushed because RSP points at an unmapped page. A #PF on
# the way to a benign or contributory exception is delivered on its own (serially) with the interrupted
# instruction's RIP and RSP; a #PF on the way to a #PF is a #DF.
# Build: buildFlat("emu_nested_faults.S", 0x100000); run: tsvmm run --mode long FILE (load 0x100000).
# The guest loads its own GDT and a TSS with IST1 (for #PF) and IST2 (for #DF) stacks; RSP is set to
# 0x100001000, above tsvmm's 4 GiB identity map, so the first push (the frame's SS at 0x100000ff8) faults.
# Cases (failure code = exit value: base + 0 no fault, + 1 vector, + 2 error code, + 3 CR2, + 4 RIP or RSP
# in the frame):
#   ud     ud2 with the bad RSP: #PF 14 / 0x2 (write, not present), CR2 0x100000ff8, RIP the ud2, RSP
#          0x100001000 (base 0x01)
#   gp     mov %ax,%ds with AX=0x1000 (#GP) and the bad RSP: the same #PF, RIP the mov (0x06)
#   int    int $0x30 (a DPL-0 gate, no IST) with the bad RSP: the same #PF, RIP the int (0x0b)
#   pf     the #PF gate without IST, then a read of 0x200000000 (unmapped): its #PF cannot be pushed
#          either: #DF 8 / 0 on IST2 (0x10)
# Any other exception: 0x40 + vector.
# Expected output on COM1: "nested faults: ud gp int pf ok\n"
# Exit: 0x2d to port 0xf4 (isa-debug-exit) -> status (0x2d<<1)|1 = 91.
	.code64
	.text
	.globl _start
_start:
	cli
	lea s_head(%rip), %rsi
	call puts

	lea tss(%rip), %rax
	mov %rax, r_tmp(%rip)
	mov r_tmp(%rip), %ax
	mov %ax, gdt + 0x28 + 2(%rip)
	mov r_tmp + 2(%rip), %al
	mov %al, gdt + 0x28 + 4(%rip)
	mov r_tmp + 3(%rip), %al
	mov %al, gdt + 0x28 + 7(%rip)
	lea ist1_top(%rip), %rax
	mov %rax, tss + 0x24(%rip)	# IST1
	lea ist2_top(%rip), %rax
	mov %rax, tss + 0x2c(%rip)	# IST2
	lgdt gdt_desc(%rip)
	mov $0x28, %ax
	ltr %ax

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
	cmp $0x31, %ecx
	jne 1b
	movb $1, idt + 14 * 16 + 4(%rip)	# #PF: IST1
	movb $2, idt + 8 * 16 + 4(%rip)		# #DF: IST2
	lidt idt_desc(%rip)

# NEST base, vec, err, cr2, insn...: with RSP = 0x100001000, insn must end in exception `vec` with `err`
# and CR2 `cr2`, its frame holding insn's RIP and the bad RSP (not checked for #DF).
.macro NEST base, vec, err, cr2, insn:vararg
	movq $3f, r_resume(%rip)
	mov %rsp, r_rsp(%rip)
	movq $-2, r_vec(%rip)
	movabs $0x100001000, %rsp
2:	\insn
	mov r_rsp(%rip), %rsp
	mov $\base, %bl
	jmp fail
3:	mov $\base + 1, %bl
	cmpq $\vec, r_vec(%rip)
	jne fail
	mov $\base + 2, %bl
	cmpq $\err, r_err(%rip)
	jne fail
	mov $\base + 3, %bl
	movabs $\cr2, %rax
	cmp %rax, r_cr2(%rip)
	jne fail
	.if \vec != 8
	mov $\base + 4, %bl
	cmpq $2b, r_rip(%rip)
	jne fail
	movabs $0x100001000, %rax
	cmp %rax, r_frsp(%rip)
	jne fail
	.endif
.endm

	NEST 0x01, 14, 0x2, 0x100000ff8, ud2
	lea s_ud(%rip), %rsi
	call puts
	mov $0x1000, %eax
	NEST 0x06, 14, 0x2, 0x100000ff8, mov %ax, %ds
	lea s_gp(%rip), %rsi
	call puts
	NEST 0x0b, 14, 0x2, 0x100000ff8, int $0x30
	lea s_int(%rip), %rsi
	call puts
	movb $0, idt + 14 * 16 + 4(%rip)	# #PF without IST
	NEST 0x10, 8, 0x0, 0x100000ff8, mov 0x200000000, %rax
	movb $1, idt + 14 * 16 + 4(%rip)
	lea s_pf(%rip), %rsi
	call puts

	lea s_ok(%rip), %rsi
	call puts
	mov $0x2d, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# fail: prints " FAIL\n" and exits with the code in BL.
fail:
	mov $0x7000, %rsp
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

# common: records the vector, error code (-1: none), CR2 and the frame's RIP and RSP; resumes at r_resume
# with RSP = r_rsp.
common:
	popq r_vec(%rip)
	popq r_err(%rip)
	mov (%rsp), %rax
	mov %rax, r_rip(%rip)
	mov 24(%rsp), %rax
	mov %rax, r_frsp(%rip)
	mov %cr2, %rax
	mov %rax, r_cr2(%rip)
	mov r_rsp(%rip), %rsp
	jmp *r_resume(%rip)

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
	.rept 0x30 - 32			# vectors 32-47: unused
	.balign 16
	pushq $-1
	pushq $0x7f
	jmp common
	.endr
	.balign 16
	pushq $-1			# vector 0x30
	pushq $0x30
	jmp common

	.balign 16
gdt:
	.quad 0
	.quad 0x00cf9b000000ffff	# 0x08: 32-bit code
	.quad 0x00cf93000000ffff	# 0x10: data
	.quad 0x00af9b000000ffff	# 0x18: 64-bit code
	.quad 0x00cf93000000ffff	# 0x20: data
	.quad 0x0000890000000067	# 0x28: 64-bit TSS (available), base filled in
	.quad 0
gdt_end:
	.word 0, 0, 0
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt
	.word 0, 0, 0
idt_desc:
	.word 0x31 * 16 - 1
	.quad idt
	.balign 16
tss:
	.fill 104, 1, 0
	.balign 16
idt:
	.fill 0x31 * 16, 1, 0
	.balign 16
	.fill 512, 1, 0
ist1_top:
	.fill 512, 1, 0
ist2_top:
r_resume: .quad 0
r_rsp:	.quad 0
r_vec:	.quad 0
r_err:	.quad 0
r_rip:	.quad 0
r_frsp:	.quad 0
r_cr2:	.quad 0
r_tmp:	.quad 0
s_head:	.asciz "nested faults:"
s_ud:	.asciz " ud"
s_gp:	.asciz " gp"
s_int:	.asciz " int"
s_pf:	.asciz " pf"
s_ok:	.asciz " ok\n"
s_fail:	.asciz " FAIL\n"
