# emu_x87: computes with the x87 FPU and MMX and checks each result in the guest: FSQRT, FSIN (within 1e-15),
# integer conversions under each rounding mode set with FLDCW, FILD/FISTP m64 of 2^63-1, compare-and-branch
# through FNSTSW AX + SAHF and through FCOMI, the 80-bit FLDPI constant, FPREM, FXSAVE/FXRSTOR and MMX.
# First it enables the FPU as an OS does: CR0.EM and TS clear, MP and NE set; CR4.OSFXSR set; FNINIT.
# Build: buildFlat("emu_x87.S", 0x100000); run: tsvmm run --mode long FILE (load 0x100000).
# Each case leaves a 64-bit result in RAX and CHECK compares it. On a mismatch the guest prints
# "x87: FAIL case N rax=..." and exits with 1. Expected output on COM1: "x87: 14 cases ok\n"
# Exit: 0x5e to port 0xf4 (isa-debug-exit) -> status (0x5e<<1)|1 = 189.
	.code64
	.text
	.globl _start

.macro CHECK id, value
	mov $\id, %r12d
	movabs $\value, %r10
	cmp %r10, %rax
	jne fail
	incl count(%rip)
.endm

_start:
	mov %cr0, %rax
	and $~0xc, %rax
	or $0x22, %rax
	mov %rax, %cr0
	mov %cr4, %rax
	or $0x200, %rax
	mov %rax, %cr4
	fninit

	# 1. FSQRT(2) stored as a double: 0x3ff6a09e667f3bcd
	fldl d_2(%rip)
	fsqrt
	fstpl tmp(%rip)
	mov tmp(%rip), %rax
	CHECK 1, 0x3ff6a09e667f3bcd
	# 2. |FSIN(0.5) - 0.479425538604203| < 1e-15, decided with FCOMIP (eps > |diff|: CF = ZF = 0)
	fldl d_05(%rip)
	fsin
	fsubl sin05(%rip)
	fabs
	fldl eps(%rip)
	fcomip %st(1), %st
	fstp %st(0)
	seta %al
	movzbl %al, %eax
	CHECK 2, 1
	# 3-6. FISTP m32 of 2.5 and -2.5 under RC = nearest, down, up, zero: (2, -2), (2, -3), (3, -2), (2, -2)
	xor %ebx, %ebx
	lea cws(%rip), %rsi
	xor %r13, %r13
1:	fldcw (%rsi,%rbx,2)
	fldl d_25(%rip)
	fistpl tmp(%rip)
	fldl d_m25(%rip)
	fistpl tmp+4(%rip)
	mov tmp(%rip), %rax
	lea 3(%rbx), %r12d
	lea want_rc(%rip), %rdi
	cmp (%rdi,%rbx,8), %rax
	jne fail
	incl count(%rip)
	inc %ebx
	cmp $4, %ebx
	jne 1b
	fldcw cws(%rip)
	# 7. FILD m64 / FISTP m64 of 2^63 - 1: exact
	fildq big(%rip)
	fistpq tmp(%rip)
	mov tmp(%rip), %rax
	CHECK 7, 0x7fffffffffffffff
	# 8. 1 < 2 through FCOM + FNSTSW AX + SAHF (C0 -> CF): JB taken
	fldl d_2(%rip)
	fld1
	fcom %st(1)
	fnstsw %ax
	sahf
	mov $0, %eax
	jnb 2f
	mov $1, %eax
2:	fcompp
	CHECK 8, 1
	# 9. 3 > 2 with FCOMI: JA taken; FUCOMIP of equal values: ZF
	fldl d_2(%rip)
	fldl d_3(%rip)
	fcomi %st(1), %st
	mov $0, %eax
	jna 3f
	mov $1, %eax
3:	fstp %st(0)
	fld %st(0)
	fucomip %st(1), %st
	sete %cl
	fstp %st(0)
	movzbl %cl, %ecx
	add %ecx, %eax
	CHECK 9, 2
	# 10. FLDPI as an 80-bit value: significand 0xc90fdaa22168c235, exponent 0x4000
	fldpi
	fstpt ten(%rip)
	mov ten(%rip), %rax
	CHECK 10, 0xc90fdaa22168c235
	# 11. FPREM: 17 mod 3 = 2 (as an integer through FISTP)
	fldl d_3(%rip)
	fldl d_17(%rip)
	fprem
	fistpq tmp(%rip)
	fstp %st(0)
	mov tmp(%rip), %rax
	CHECK 11, 2
	# 12. FXSAVE, FNINIT, FXRSTOR keeps ST(0) = 1.5: the integer part after FISTP with RC = zero is 1
	fldl d_15(%rip)
	fxsave fxarea(%rip)
	fninit
	fxrstor fxarea(%rip)
	fldcw cw_zero(%rip)
	fistpq tmp(%rip)
	fldcw cws(%rip)
	mov tmp(%rip), %rax
	CHECK 12, 1
	# 13. MMX: PADDW wraps (0x7fff + 0x8001 = 0); EMMS
	movq mm_a(%rip), %mm0
	movq mm_b(%rip), %mm1
	paddw %mm1, %mm0
	movq %mm0, %rax
	emms
	CHECK 13, 0x0000800000000000
	# 14. 1/3 in double: FDIV and FSTP m64 give 0x3fd5555555555555
	fld1
	fdivl d_3(%rip)
	fstpl tmp(%rip)
	mov tmp(%rip), %rax
	CHECK 14, 0x3fd5555555555555

	lea s_ok(%rip), %rsi
	call puts
	mov count(%rip), %eax
	mov $2, %ecx
	call putdec
	lea s_cases(%rip), %rsi
	call puts
	mov $0x5e, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

fail:
	mov %rax, %r15
	lea s_fail(%rip), %rsi
	call puts
	mov %r12d, %eax
	mov $2, %ecx
	call putdec
	lea s_rax(%rip), %rsi
	call puts
	mov %r15, %rax
	mov $16, %ecx
	call puthex
	mov $0x3f8, %dx
	mov $'\n', %al
	out %al, (%dx)
	mov $1, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

puts:
	mov $0x3f8, %dx
1:	movb (%rsi), %al
	test %al, %al
	jz 2f
	out %al, (%dx)
	inc %rsi
	jmp 1b
2:	ret

# putdec: two decimal digits of EAX (< 100).
putdec:
	xor %edx, %edx
	mov $10, %ecx
	div %ecx
	mov %edx, %ecx
	mov $0x3f8, %dx
	add $'0', %al
	out %al, (%dx)
	mov %cl, %al
	add $'0', %al
	out %al, (%dx)
	ret

puthex:
	mov %rax, %rbx
	shl $2, %ecx
	mov $0x3f8, %dx
	lea hexdigits(%rip), %rsi
1:	sub $4, %ecx
	mov %rbx, %rax
	shr %cl, %rax
	and $0xf, %eax
	movb (%rsi,%rax), %al
	out %al, (%dx)
	test %ecx, %ecx
	jnz 1b
	ret

	.balign 16
fxarea:	.fill 512, 1, 0
ten:	.fill 16, 1, 0
tmp:	.quad 0
d_2:	.double 2.0
d_3:	.double 3.0
d_05:	.double 0.5
d_15:	.double 1.5
d_17:	.double 17.0
d_25:	.double 2.5
d_m25:	.double -2.5
sin05:	.double 0.479425538604203
eps:	.double 1e-15
big:	.quad 0x7fffffffffffffff
cws:	.short 0x037f, 0x077f, 0x0b7f, 0x0f7f
cw_zero: .short 0x0f7f
	.balign 8
want_rc: .long 2, -2, 2, -3, 3, -2, 2, -2
mm_a:	.short 0x7fff, 0, 0, 0
mm_b:	.short 0x8001, 0, 0x8000, 0
count:	.long 0
s_ok:	.asciz "x87: "
s_cases: .asciz " cases ok\n"
s_fail:	.asciz "x87: FAIL case "
s_rax:	.asciz " rax="
hexdigits: .ascii "0123456789abcdef"
