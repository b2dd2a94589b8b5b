# emu_sse: computes with packed single and double precision and 128-bit integer SSE/SSE2 (plus SSE3, SSSE3,
# SSE4.1, POPCNT/LZCNT/TZCNT, CRC32) and checks each result against values worked out by hand (the arithmetic
# is in the comment above each case). First it enables SSE as an OS does: CR0.EM cleared, CR0.MP set,
# CR0.TS cleared, CR4.OSFXSR and CR4.OSXMMEXCPT set.
# Build: buildFlat("emu_sse.S", 0x100000); run: tsvmm run --mode long FILE (load 0x100000).
# Each case leaves its 128-bit result in XMM0 (or a 64-bit one in RAX, with the high expected qword 0) and
# CHECK compares both qwords. On a mismatch the guest prints "sse: FAIL case N lo=... hi=..." and exits with 1.
# Expected output on COM1: "sse: 24 cases ok\n"
# Exit: 0x5e to port 0xf4 (isa-debug-exit) -> status (0x5e<<1)|1 = 189.
	.code64
	.text
	.globl _start

# CHECK id, lo, hi: XMM0 must hold hi:lo.
.macro CHECK id, lo, hi
	mov $\id, %r12d
	movdqu %xmm0, result(%rip)
	mov result(%rip), %rax
	mov result+8(%rip), %rdx
	movabs $\lo, %r10
	cmp %r10, %rax
	jne fail
	movabs $\hi, %r10
	cmp %r10, %rdx
	jne fail
	incl count(%rip)
.endm

# CHECKR id, value: RAX must hold value.
.macro CHECKR id, value
	movq %rax, %xmm0
	CHECK \id, \value, 0
.endm

_start:
	lea s_head(%rip), %rsi
	call puts
	# Enable SSE: CR0.EM (bit 2) and TS (bit 3) clear, MP (bit 1) set; CR4.OSFXSR (9), OSXMMEXCPT (10).
	mov %cr0, %rax
	and $~0xc, %rax
	or $0x2, %rax
	mov %rax, %cr0
	mov %cr4, %rax
	or $0x600, %rax
	mov %rax, %cr4

	# 1. MULPS: [1.5, 2.5, -3, 4] * [2, 4, 0.5, 0.25] = [3, 10, -1.5, 1]
	#    = 0x40400000, 0x41200000, 0xbfc00000, 0x3f800000
	movaps v_a(%rip), %xmm0
	mulps v_b(%rip), %xmm0
	CHECK 1, 0x4120000040400000, 0x3f800000bfc00000
	# 2. HADDPS twice: 3 + 10 = 13, -1.5 + 1 = -0.5; then 13 + -0.5 = 12.5 = 0x41480000 in every lane
	haddps %xmm0, %xmm0
	haddps %xmm0, %xmm0
	CHECK 2, 0x4148000041480000, 0x4148000041480000
	# 3. ADDSS 0.1f + 0.2f = 0x3e99999a (binary32 rounding; in double it would be 0.30000000000000004)
	movss f_01(%rip), %xmm0
	addss f_02(%rip), %xmm0
	CHECK 3, 0x3e99999a, 0
	# 4. SQRTPD [2, 9] = [1.4142135623730951 = 0x3ff6a09e667f3bcd, 3 = 0x4008000000000000]
	sqrtpd d_2_9(%rip), %xmm0
	CHECK 4, 0x3ff6a09e667f3bcd, 0x4008000000000000
	# 5. DIVPD [1, 10] / [3, 4] = [0x3fd5555555555555, 2.5 = 0x4004000000000000]
	movapd d_1_10(%rip), %xmm0
	divpd d_3_4(%rip), %xmm0
	CHECK 5, 0x3fd5555555555555, 0x4004000000000000
	# 6. MAXPD/MINPD: max([1, 10], [3, 4]) = [3, 10]; then min with [5, 5] = [3, 5]
	movapd d_1_10(%rip), %xmm0
	maxpd d_3_4(%rip), %xmm0
	minpd d_5_5(%rip), %xmm0
	CHECK 6, 0x4008000000000000, 0x4014000000000000
	# 7. CVTSI2SD 7, MULSD 1.5 = 10.5; CVTSD2SI rounds to nearest even: 10; CVTTSD2SI truncates: 10
	mov $7, %eax
	cvtsi2sd %eax, %xmm1
	mulsd d_1_5(%rip), %xmm1
	cvtsd2si %xmm1, %rax
	CHECKR 7, 10
	# 8. the same under MXCSR.RC = up (LDMXCSR 0x5f80): 11
	ldmxcsr mx_up(%rip)
	cvtsd2si %xmm1, %rax
	CHECKR 8, 11
	# 9. STMXCSR: 0x5f80 | PE (0x20, 10.5 is not an integer) = 0x5fa0; then back to 0x1f80
	stmxcsr result(%rip)
	mov result(%rip), %eax
	ldmxcsr mx_default(%rip)
	CHECKR 9, 0x5fa0
	# 10. CVTTSD2SI of 3e9 does not fit 32 bits: the integer indefinite 0x80000000
	cvttsd2si d_3e9(%rip), %eax
	CHECKR 10, 0x80000000
	# 11. COMISD 10.5 > 3: ZF = PF = CF = 0 -> SETA; UCOMISD with a NaN: unordered (PF) -> SETP
	xor %eax, %eax
	comisd d_3_4(%rip), %xmm1
	seta %al
	movsd d_nan(%rip), %xmm2
	ucomisd %xmm1, %xmm2
	setp %ah
	CHECKR 11, 0x0101
	# 12. PSADBW against zero: bytes 1..8 sum to 36, 9..16 to 100
	movdqa bytes_1_16(%rip), %xmm0
	pxor %xmm1, %xmm1
	psadbw %xmm1, %xmm0
	CHECK 12, 36, 100
	# 13. PMADDWD [1..8] x [1..8]: 1+4, 9+16, 25+36, 49+64 = 5, 25, 61, 113
	movdqa words_1_8(%rip), %xmm0
	pmaddwd %xmm0, %xmm0
	CHECK 13, 0x0000001900000005, 0x000000710000003d
	# 14. PADDUSB/PSUBSW saturation: 0xf0 + 0x20 -> 0xff per byte; then words 0xffff - 0x7fff = -1 - 32767
	#     = -32768 = 0x8000
	movdqa v_f0(%rip), %xmm0
	paddusb v_20(%rip), %xmm0
	psubsw v_7fff(%rip), %xmm0
	CHECK 14, 0x8000800080008000, 0x8000800080008000
	# 15. PSHUFB with 15..0 reverses the bytes 1..16
	movdqa bytes_1_16(%rip), %xmm0
	pshufb rev(%rip), %xmm0
	CHECK 15, 0x090a0b0c0d0e0f10, 0x0102030405060708
	# 16. strlen by PCMPEQB/PMOVMSKB/BSF over 16-byte blocks of "emulated SSE2 strlen, 16-byte blocks": 36
	lea str(%rip), %rsi
	xor %ecx, %ecx
	pxor %xmm1, %xmm1
1:	movdqa (%rsi,%rcx), %xmm0
	pcmpeqb %xmm1, %xmm0
	pmovmskb %xmm0, %eax
	test %eax, %eax
	jnz 2f
	add $16, %rcx
	jmp 1b
2:	bsf %eax, %eax
	add %rcx, %rax
	CHECKR 16, 36
	# 17. PSLLDQ by 3 and PSRLQ by 8 of 1..16: bytes 0,0,0,1..13, then each qword shifted right a byte
	movdqa bytes_1_16(%rip), %xmm0
	pslldq $3, %xmm0
	psrlq $8, %xmm0
	CHECK 17, 0x0005040302010000, 0x000d0c0b0a090807
	# 18. PACKSSDW [70000, -70000, 5, -5] with itself: 32767, -32768, 5, -5 twice
	movdqa packin(%rip), %xmm0
	packssdw %xmm0, %xmm0
	CHECK 18, 0xfffb000580007fff, 0xfffb000580007fff
	# 19. PMULLD / PMINSD (SSE4.1): [3, -4, 5, 6] * [7, 8, -9, 10] = [21, -32, -45, 60]; min with 0
	movdqa i4_a(%rip), %xmm0
	pmulld i4_b(%rip), %xmm0
	pxor %xmm1, %xmm1
	pminsd %xmm1, %xmm0
	CHECK 19, 0xffffffe000000000, 0x00000000ffffffd3
	# 20. PMOVZXBW of 1..8 then PHADDW (SSSE3) with itself: 3, 7, 11, 15, 3, 7, 11, 15
	pmovzxbw bytes_1_16(%rip), %xmm0
	phaddw %xmm0, %xmm0
	CHECK 20, 0x000f000b00070003, 0x000f000b00070003
	# 21. POPCNT 0xf0f0 = 8; LZCNT of 1 (64-bit) = 63; TZCNT of 0x100 = 8: 8 + 63 + 8 = 79
	mov $0xf0f0, %ebx
	popcnt %rbx, %rax
	mov $1, %ebx
	lzcnt %rbx, %rcx
	add %rcx, %rax
	mov $0x100, %ebx
	tzcnt %rbx, %rcx
	add %rcx, %rax
	CHECKR 21, 79
	# 22. CRC32C of "123456789" (init ~0, final NOT): 0xe3069283
	mov $-1, %eax
	crc32q crcin(%rip), %rax
	crc32b crcin+8(%rip), %eax
	not %eax
	CHECKR 22, 0xe3069283
	# 23. CVTPS2PD / CVTPD2PS round trip of [0.1f, -2.5f]: the same binary32 values, upper half zeroed
	movsd f_01_m25(%rip), %xmm1
	cvtps2pd %xmm1, %xmm2
	cvtpd2ps %xmm2, %xmm0
	CHECK 23, 0xc02000003dcccccd, 0
	# 24. SHUFPS/UNPCKLPS/XORPS: shufps $0x1b reverses [1, 2, 3, 4] (as dwords); unpcklps with itself
	#     gives [4, 4, 3, 3]; xorps with [0, 0, 3, 3] clears the upper two
	movdqa i4_1234(%rip), %xmm0
	shufps $0x1b, %xmm0, %xmm0
	unpcklps %xmm0, %xmm0
	xorps i4_0033(%rip), %xmm0
	CHECK 24, 0x0000000400000004, 0

	lea s_ok(%rip), %rsi
	call puts
	mov $0x5e, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

fail:
	mov %rax, %r15
	mov %rdx, %rbp
	lea s_fail(%rip), %rsi
	call puts
	mov %r12, %rax
	mov $2, %ecx
	call puthex
	lea s_lo(%rip), %rsi
	call puts
	mov %r15, %rax
	mov $16, %ecx
	call puthex
	lea s_hi(%rip), %rsi
	call puts
	mov %rbp, %rax
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

# puthex: writes the low ECX hex digits of RAX. Clobbers RAX, RBX, RCX, RDX, RSI.
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
v_a:	.float 1.5, 2.5, -3.0, 4.0
v_b:	.float 2.0, 4.0, 0.5, 0.25
d_2_9:	.double 2.0, 9.0
d_1_10:	.double 1.0, 10.0
d_3_4:	.double 3.0, 4.0
d_5_5:	.double 5.0, 5.0
bytes_1_16: .byte 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
words_1_8: .short 1, 2, 3, 4, 5, 6, 7, 8
v_f0:	.fill 16, 1, 0xf0
v_20:	.fill 16, 1, 0x20
v_7fff:	.fill 8, 2, 0x7fff
rev:	.byte 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0
packin:	.long 70000, -70000, 5, -5
i4_a:	.long 3, -4, 5, 6
i4_b:	.long 7, 8, -9, 10
i4_1234: .long 1, 2, 3, 4
i4_0033: .long 0, 0, 3, 3
str:	.asciz "emulated SSE2 strlen, 16-byte blocks"
	.balign 16
	.fill 16, 1, 0
f_01:	.float 0.1
f_02:	.float 0.2
f_01_m25: .float 0.1, -2.5
d_1_5:	.double 1.5
d_3e9:	.double 3e9
d_nan:	.quad 0x7ff8000000000000
mx_up:	.long 0x5f80
mx_default: .long 0x1f80
crcin:	.ascii "123456789"
	.balign 16
result:	.quad 0, 0
count:	.long 0
hexdigits: .ascii "0123456789abcdef"
s_head:	.asciz "sse:"
s_ok:	.asciz " 24 cases ok\n"
s_fail:	.asciz " FAIL case "
s_lo:	.asciz " lo="
s_hi:	.asciz " hi="
