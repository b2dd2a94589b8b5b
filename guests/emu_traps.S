# emu_traps: traps and the single-step flag in 32-bit protected mode: INT3, INTO, INT1 (traps: the saved EIP
# is the next instruction's), BOUND (#BR, a fault: the saved EIP is its own), single-stepping with
# EFLAGS.TF (a #DB after every instruction that began with TF set, DR6.BS set), and the MOV SS shadow that
# holds the single-step trap back until after the next instruction.
# Build: buildFlat("emu_traps.S", 0x100000); run: tsvmm run --mode protected FILE (load 0x100000).
# Cases (failure code = exit value):
#   int3      vector 3, saved EIP after the int3 (0x01 no trap, 0x02 vector, 0x03 EIP)
#   into      after an add that overflows: vector 4, saved EIP after the into (0x05-0x07); with OF clear
#             nothing (0x08)
#   int1      vector 1, saved EIP after it (0x09-0x0b) (QEMU TCG 7.2 raises #UD for int1 unless built with
#             WANT_ICEBP; it passes every other case)
#   bound     EAX=21 against [10, 20]: vector 5, saved EIP at the bound (0x0d-0x0f); EAX=15: nothing (0x10)
#   step      POPF sets TF; then nop, mov, add, pushf, andl, popf (which clears TF): six #DB traps, at the
#             EIPs after each of the six (0x11 count, 0x12 an EIP, 0x13 DR6.BS missing)
#   mov-ss    with TF: mov %bx,%ss, nop, pushf, andl, popf: no trap after the mov to SS, so four traps,
#             the first after the nop (0x15 count, 0x16 an EIP)
# Any other exception: 0x40 + vector.
# Expected output on COM1: "traps: int3 into int1 bound step mov-ss ok\n"
# Exit: 0x3b to port 0xf4 (isa-debug-exit) -> status (0x3b<<1)|1 = 119.
	.code32
	.text
	.globl _start
_start:
	cli
	mov $s_head, %esi
	call puts

	mov $idt, %edi
	mov $stubs, %edx
	xor %ecx, %ecx
1:	mov %edx, %eax
	cmp $1, %ecx
	jne 2f
	mov $db_handler, %eax
2:	mov %eax, r_tmp
	mov %ax, (%edi)
	movw $0x08, 2(%edi)
	movw $0x8e00, 4(%edi)
	mov r_tmp + 2, %ax
	mov %ax, 6(%edi)
	add $8, %edi
	add $16, %edx
	inc %ecx
	cmp $32, %ecx
	jne 1b
	orb $0x60, idt + 3 * 8 + 5	# int3 and into gates: DPL 3 (any CPL may use them)
	orb $0x60, idt + 4 * 8 + 5
	lidt idt_desc

# TRAP base, vector, insn...: insn must raise `vector` with the saved EIP right after it (the handler IRETs).
.macro TRAP base, vec, insn:vararg
	movl $-1, r_vec
	movl $0, r_longjmp
	\insn
2:	mov $\base, %bl
	cmpl $-1, r_vec
	je fail
	mov $\base + 1, %bl
	cmpl $\vec, r_vec
	jne fail
	mov $\base + 2, %bl
	cmpl $2b, r_eip
	jne fail
.endm

	TRAP 0x01, 3, int3
	mov $s_int3, %esi
	call puts
	mov $0x7f, %al
	add $1, %al			# 127 + 1: OF
	TRAP 0x05, 4, into
	movl $-1, r_vec
	mov $1, %al
	add $1, %al			# no OF
	into
	mov $0x08, %bl
	cmpl $-1, r_vec
	jne fail
	mov $s_into, %esi
	call puts
	TRAP 0x09, 1, .byte 0xf1	# int1 (icebp)
	mov $s_int1, %esi
	call puts

	movl $-1, r_vec
	movl $1, r_longjmp
	movl $3f, r_resume
	mov %esp, r_esp
	mov $21, %eax
2:	bound %eax, bounds
	mov $0x0d, %bl
	jmp fail
3:	mov $0x0d + 1, %bl
	cmpl $5, r_vec
	jne fail
	mov $0x0d + 2, %bl
	cmpl $2b, r_eip
	jne fail
	movl $-1, r_vec
	mov $15, %eax
	bound %eax, bounds
	mov $0x10, %bl
	cmpl $-1, r_vec
	jne fail
	mov $s_bound, %esi
	call puts

	movl $0, db_count
	pushf
	orl $0x100, (%esp)
	popf				# TF set: the trap comes after the next instruction
	nop
s1:	mov $1, %eax
s2:	add %eax, %eax
s3:	pushf
s4:	andl $~0x100, (%esp)
s5:	popf				# TF clear from here, but this one still traps
s6:	mov $0x11, %bl
	cmpl $6, db_count
	jne fail
	mov $step_eips, %esi
	mov $6, %ecx
	call check_eips
	mov $s_step, %esi
	call puts

	movl $0, db_count
	mov %ss, %ebx
	pushf
	orl $0x100, (%esp)
	popf
	mov %bx, %ss			# no single-step trap here: the shadow holds it back ...
	nop				# ... to here
t1:	pushf
t2:	andl $~0x100, (%esp)
t3:	popf
t4:	mov $0x15, %bl
	cmpl $4, db_count
	jne fail
	mov $ss_eips, %esi
	mov $4, %ecx
	mov $0x16, %dl
	call check_eips
	mov $s_movss, %esi
	call puts

	mov $s_ok, %esi
	call puts
	mov $0x3b, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# check_eips: the first ECX recorded #DB EIPs must equal the table at ESI (else fail with 0x12, or DL
# when called for mov-ss), and each recorded DR6 must have BS (0x13).
check_eips:
	mov $db_eips, %edi
	mov $db_dr6, %ebp
1:	mov (%esi), %eax
	mov $0x12, %bl
	cmp $0x15, %dl
	jb 2f
	mov %dl, %bl
2:	cmp %eax, (%edi)
	jne fail
	mov $0x13, %bl
	testl $0x4000, (%ebp)
	jz fail
	add $4, %esi
	add $4, %edi
	add $4, %ebp
	dec %ecx
	jnz 1b
	ret

# fail: prints " FAIL\n" and exits with the code in BL.
fail:
	mov $s_fail, %esi
	call puts
	movzbl %bl, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# puts: writes the NUL-terminated string at ESI to COM1. Clobbers AL, DX, ESI.
puts:
	mov $0x3f8, %dx
1:	movb (%esi), %al
	test %al, %al
	jz 2f
	out %al, (%dx)
	inc %esi
	jmp 1b
2:	ret

# #DB from single-stepping: records the saved EIP and DR6 (then clears DR6) and returns.
db_handler:
	push %eax
	push %ecx
	mov db_count, %ecx
	cmp $8, %ecx
	jae 1f
	mov 8(%esp), %eax
	mov %eax, db_eips(,%ecx,4)
	mov %dr6, %eax
	mov %eax, db_dr6(,%ecx,4)
1:	incl db_count
	mov 8(%esp), %eax
	mov %eax, r_eip
	movl $1, r_vec
	xor %eax, %eax
	mov %eax, %dr6
	pop %ecx
	pop %eax
	iret

# common: the stub pushed the vector (over an error code, if any: none of the vectors expected here has
# one). Records vector and saved EIP; returns with IRET, or resumes at r_resume when r_longjmp is set.
common:
	popl r_vec
	push %eax
	mov 4(%esp), %eax
	mov %eax, r_eip
	pop %eax
	cmpl $0, r_longjmp
	jne 1f
	iret
1:	mov r_esp, %esp
	jmp *r_resume

unexpected:
	pop %ebx
	add $0x40, %ebx
	jmp fail

	.balign 16
stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign 16
	push $\v
	.if (\v >= 1 && \v <= 5)
	jmp common
	.else
	jmp unexpected
	.endif
	.endr

	.balign 8
	.word 0
idt_desc:
	.word 32 * 8 - 1
	.long idt
	.balign 8
idt:
	.fill 32 * 8, 1, 0
bounds:	.long 10, 20
step_eips: .long s1, s2, s3, s4, s5, s6
ss_eips: .long t1, t2, t3, t4
db_eips: .fill 8, 4, 0
db_dr6:	.fill 8, 4, 0
db_count: .long 0
r_vec:	.long 0
r_eip:	.long 0
r_longjmp: .long 0
r_resume: .long 0
r_esp:	.long 0
r_tmp:	.long 0
s_head:	.asciz "traps:"
s_int3:	.asciz " int3"
s_into:	.asciz " into"
s_int1:	.asciz " int1"
s_bound: .asciz " bound"
s_step:	.asciz " step"
s_movss: .asciz " mov-ss"
s_ok:	.asciz " ok\n"
s_fail:	.asciz " FAIL\n"
