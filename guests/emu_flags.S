# emu_flags: results and RFLAGS of ALU, shift, rotate and multiply instructions at 8, 16, 32 and 64 bits,
# compared with values worked out by hand (the arithmetic is in the comment above each case). Only the
# flags the SDM defines for each case are compared (the mask); flags an instruction leaves alone are
# checked to be left alone.
# Build: buildFlat("emu_flags.S", 0x100000); run: tsvmm run --mode long FILE (load 0x100000).
# Flags: CF 0x001, PF 0x004, AF 0x010, ZF 0x040, SF 0x080, OF 0x800 (all six: 0x8d5). PF is set when the low
# byte of the result has an even number of 1 bits.
# Each case: RAX = a, RBX = RCX = b, RDX = 0, RFLAGS = init (via POPFQ), the instruction, then
# (RFLAGS & mask) must equal the expected flags, RAX the expected result (all 64 bits: 8- and 16-bit
# operations keep the upper bits, 32-bit ones zero them) and, for MUL/IMUL, RDX the expected high half.
# On a mismatch the guest prints "flags: FAIL case N rflags=... rax=... rdx=..." and exits with 1 (flags),
# 2 (RAX) or 3 (RDX).
# Expected output on COM1: "flags: 71 cases ok\n"
# Exit: 0x36 to port 0xf4 (isa-debug-exit) -> status (0x36<<1)|1 = 109.
	.code64
	.text
	.globl _start

# T id, a, b, init, mask, flags, result, insn...
.macro T id, a, b, init, mask, fl, res, insn:vararg
	TM \id, \a, \b, \init, \mask, \fl, \res, 0, \insn
.endm

# TM id, a, b, init, mask, flags, result, rdx, insn...: also checks RDX.
.macro TM id, a, b, init, mask, fl, res, rdx, insn:vararg
	movabs $\a, %rax
	movabs $\b, %rbx
	mov %rbx, %rcx
	xor %edx, %edx
	pushq $\init
	popfq
	\insn
	pushfq
	pop %r11
	mov $\id, %r12d
	mov %r11, %r13
	and $\mask, %r11d
	mov $1, %r14d
	cmp $\fl, %r11d
	jne fail
	mov $2, %r14d
	movabs $\res, %r10
	cmp %r10, %rax
	jne fail
	mov $3, %r14d
	movabs $\rdx, %r10
	cmp %r10, %rdx
	jne fail
	incl count(%rip)
.endm

_start:
	lea s_head(%rip), %rsi
	call puts

# ---- ADD ----
	# 0xff + 0x01 = 0x100: AL=0x00; CF (carry out of bit 7), AF (0xf + 0x1 = 0x10), ZF, PF (0 ones);
	# -1 + 1 = 0: no OF
	T 1, 0xff, 0x01, 0x002, 0x8d5, 0x055, 0x00, add %bl, %al
	# 0x7f + 0x01 = 0x80: 127 + 1 = 128 > 127: OF; SF; AF (0xf + 0x1); PF clear (0x80: one 1 bit); no CF
	T 2, 0x7f, 0x01, 0x002, 0x8d5, 0x890, 0x80, add %bl, %al
	# 0x8000 + 0x8000 = 0x10000: AX=0; CF; OF (-32768 + -32768); ZF; PF; AF clear (0x0 + 0x0);
	# RAX bits 63-16 kept: 0x1234000000000000
	T 3, 0x1234000000008000, 0x8000, 0x002, 0x8d5, 0x845, 0x1234000000000000, add %bx, %ax
	# 0x7fffffff + 1 = 0x80000000: OF, SF, AF (0xf + 0x1), PF (low byte 0x00); a 32-bit result clears
	# RAX bits 63-32
	T 4, 0xffffffff7fffffff, 0x01, 0x002, 0x8d5, 0x894, 0x80000000, add %ebx, %eax
	# 0xffffffffffffffff + 1 = 2^64: RAX=0; CF, ZF, PF, AF; -1 + 1: no OF
	T 5, 0xffffffffffffffff, 0x01, 0x002, 0x8d5, 0x055, 0x0, add %rbx, %rax
	# 2^63 + 2^63 = 2^64: RAX=0; CF, OF (negative + negative = 0), ZF, PF
	T 6, 0x8000000000000000, 0x8000000000000000, 0x002, 0x8d5, 0x845, 0x0, add %rbx, %rax
	# 0x100000000 + 0xffffffff = 0x1ffffffff: no carry out of bit 63 (only bit 31's carry would be one);
	# PF (0xff: 8 ones); AF clear (0x0 + 0xf)
	T 7, 0x100000000, 0xffffffff, 0x8d7, 0x8d5, 0x004, 0x1ffffffff, add %rbx, %rax

# ---- ADC ----
	# 0xff + 0x00 + CF=1 = 0x100: AL=0; CF, ZF, PF, AF (0xf + 0 + 1 = 0x10); no OF
	T 8, 0xff, 0x00, 0x003, 0x8d5, 0x055, 0x00, adc %bl, %al
	# 0x7fffffff + 0 + 1 = 0x80000000: OF, SF, AF, PF (low byte 0); no CF
	T 9, 0x7fffffff, 0x0, 0x003, 0x8d5, 0x894, 0x80000000, adc %ebx, %eax
	# 0xffffffffffffffff + 0xffffffffffffffff + 1 = 2^65 - 1: RAX=0xffffffffffffffff, CF; AF (0xf + 0xf + 1
	# = 0x1f); SF; PF (0xff); -1 + -1 + 1 = -1: no OF
	T 10, 0xffffffffffffffff, 0xffffffffffffffff, 0x003, 0x8d5, 0x095, 0xffffffffffffffff, adc %rbx, %rax
	# 0x7fff + 0 + CF=0 = 0x7fff: PF (0xff); everything else clear (init had them all set)
	T 11, 0x7fff, 0x0, 0x8d6, 0x8d5, 0x004, 0x7fff, adc %bx, %ax

# ---- SUB, CMP, SBB ----
	# 0x00 - 0x01 = 0xff (borrow): CF, SF, AF (0x0 - 0x1 borrows), PF; 0 - 1 = -1: no OF
	T 12, 0x00, 0x01, 0x002, 0x8d5, 0x095, 0xff, sub %bl, %al
	# 0x80 - 0x01 = 0x7f: -128 - 1 = -129 < -128: OF; AF (0x0 - 0x1); PF clear (0x7f: 7 ones); no CF
	T 13, 0x80, 0x01, 0x002, 0x8d5, 0x810, 0x7f, sub %bl, %al
	# 5 - 5 = 0: ZF, PF
	T 14, 5, 5, 0x8d7, 0x8d5, 0x044, 0, sub %ebx, %eax
	# 2^63 - 1 = 0x7fffffffffffffff: -2^63 - 1 overflows: OF; AF (0x0 - 0x1); PF (0xff); no CF
	T 15, 0x8000000000000000, 0x01, 0x002, 0x8d5, 0x814, 0x7fffffffffffffff, sub %rbx, %rax
	# 0x0001 - 0x0002 = 0xffff: CF, SF, AF, PF
	T 16, 0x0001, 0x0002, 0x002, 0x8d5, 0x095, 0xffff, sub %bx, %ax
	# CMP 1 - 0x80000000 = 0x80000001 (32 bits): CF (1 < 0x80000000 unsigned); 1 - (-2^31) = 2^31 + 1
	# overflows: OF; SF; AF clear (0x1 - 0x0); PF clear (0x01); RAX unchanged
	T 17, 1, 0x80000000, 0x002, 0x8d5, 0x881, 1, cmp %ebx, %eax
	# 0x00 - 0x00 - CF=1 = 0xff: CF, SF, AF, PF; no OF
	T 18, 0x00, 0x00, 0x003, 0x8d5, 0x095, 0xff, sbb %bl, %al
	# 0 - 0xffffffffffffffff - 1 = -2^64 = 0 (mod 2^64): ZF, PF; CF (0 < 2^64 - 1 + 1); AF (0x0 - 0xf - 1);
	# 0 - (-1) - 1 = 0: no OF
	T 19, 0x0, 0xffffffffffffffff, 0x003, 0x8d5, 0x055, 0x0, sbb %rbx, %rax
	# 0x8000 - 0x7fff - 1 = 0: ZF, PF; AF (0x0 - 0xf - 1); -32768 - 32767 - 1 = -65536 overflows: OF;
	# no CF (0x8000 >= 0x7fff + 1)
	T 20, 0x8000, 0x7fff, 0x003, 0x8d5, 0x854, 0x0, sbb %bx, %ax

# ---- INC, DEC (CF unchanged) ----
	# 0xff + 1 = 0x00: ZF, PF, AF; CF stays 1
	T 21, 0xff, 0, 0x003, 0x8d5, 0x055, 0x00, inc %al
	# 0x7fffffff + 1 = 0x80000000: OF, SF, AF, PF; CF stays 0
	T 22, 0x7fffffff, 0, 0x002, 0x8d5, 0x894, 0x80000000, inc %eax
	# 2^63 - 1 = 0x7fffffffffffffff: OF, AF, PF; CF stays 1
	T 23, 0x8000000000000000, 0, 0x003, 0x8d5, 0x815, 0x7fffffffffffffff, dec %rax
	# 0x0001 - 1 = 0: ZF, PF; AF clear (0x1 - 0x1)
	T 24, 0x0001, 0, 0x002, 0x8d5, 0x044, 0x0, dec %ax
	# 0xffffffffffffffff + 1 = 0: ZF, PF, AF; CF stays 0
	T 25, 0xffffffffffffffff, 0, 0x002, 0x8d5, 0x054, 0x0, inc %rax

# ---- NEG (0 - x; CF = x != 0) ----
	# -0x80 = 0x80 (8 bits): CF; OF (-(-128) = 128 overflows); SF; AF clear (0x0 - 0x0); PF clear (one 1)
	T 26, 0x80, 0, 0x002, 0x8d5, 0x881, 0x80, neg %al
	# -0 = 0: ZF, PF; no CF
	T 27, 0, 0, 0x8d7, 0x8d5, 0x044, 0, neg %eax
	# -1 = 0xffffffffffffffff: CF, SF, AF (0x0 - 0x1), PF
	T 28, 1, 0, 0x002, 0x8d5, 0x095, 0xffffffffffffffff, neg %rax
	# -0x8000 = 0x8000 (16 bits): CF, OF, SF, PF (low byte 0x00)
	T 29, 0x8000, 0, 0x002, 0x8d5, 0x885, 0x8000, neg %ax

# ---- AND, OR, XOR, TEST (CF = OF = 0; AF undefined) ----
	# 0xf0f0f0f0 & 0x0f0f0f0f = 0: ZF, PF; CF and OF cleared
	T 30, 0xf0f0f0f0, 0x0f0f0f0f, 0x8d7, 0x8c5, 0x044, 0, and %ebx, %eax
	# 0x8000000000000000 | 1 = 0x8000000000000001: SF; PF clear (0x01)
	T 31, 0x8000000000000000, 1, 0x8d7, 0x8c5, 0x080, 0x8000000000000001, or %rbx, %rax
	# 0x5a ^ 0x5a = 0: ZF, PF
	T 32, 0x5a, 0x5a, 0x8d7, 0x8c5, 0x044, 0, xor %bl, %al
	# 0x8001 & 0x8000 = 0x8000, not stored: SF, PF (low byte 0x00)
	T 33, 0x8001, 0x8000, 0x8d7, 0x8c5, 0x084, 0x8001, test %bx, %ax

# ---- SHL, SHR, SAR (AF undefined; OF defined for a count of 1 only; count 0 changes nothing) ----
	# 0x81 << 1 = 0x102: AL=0x02; CF = bit 7 = 1; OF = MSB(result) ^ CF = 0 ^ 1 = 1; PF clear (one 1)
	T 34, 0x81, 0, 0x002, 0x8c5, 0x801, 0x02, shl %al
	# 0x40000000 << 1 = 0x80000000: CF = bit 31 = 0; OF = MSB(result) ^ CF = 1 ^ 0 = 1; SF; PF (low byte 0)
	T 35, 0x40000000, 0, 0x002, 0x8c5, 0x884, 0x80000000, shl $1, %eax
	# 0x1800000000000001 << 4 = 0x8000000000000010 (bit 60 shifted out last: CF = 1); SF; PF clear (0x10)
	T 36, 0x1800000000000001, 4, 0x002, 0x0c5, 0x081, 0x8000000000000010, shl %cl, %rax
	# 0x3001 << 3 = 0x18008: BX... AX=0x8008; CF = bit 16-3 = 13 of 0x3001 = 1; SF; PF clear (0x08)
	T 37, 0x3001, 0, 0x002, 0x0c5, 0x081, 0x8008, shl $3, %ax
	# 0x81 >> 1 = 0x40: CF = bit 0 = 1; OF = MSB of the original = 1; PF clear (0x40)
	T 38, 0x81, 0, 0x002, 0x8c5, 0x801, 0x40, shr %al
	# 0xc0000000 >> 31 = 1: CF = bit 30 = 1; PF clear (0x01)
	T 39, 0xc0000000, 31, 0x002, 0x0c5, 0x001, 1, shr %cl, %eax
	# 0x8000000000000000 >> 1 = 0x4000000000000000: CF = 0; OF = original MSB = 1; PF (low byte 0)
	T 40, 0x8000000000000000, 0, 0x002, 0x8c5, 0x804, 0x4000000000000000, shr $1, %rax
	# count 64 & 63 = 0: nothing changes, every flag stays set
	T 41, 0x1234, 64, 0x8d7, 0x8d5, 0x8d5, 0x1234, shr %cl, %rax
	# 0x81 >> 1 arithmetic = 0xc0: CF = 1; OF = 0; SF; PF (0xc0: two ones)
	T 42, 0x81, 0, 0x002, 0x8c5, 0x085, 0xc0, sar %al
	# 0x80000000 >> 31 arithmetic = 0xffffffff: CF = bit 30 = 0; SF; PF
	T 43, 0x80000000, 31, 0x002, 0x0c5, 0x084, 0xffffffff, sar %cl, %eax
	# 0x800000000000000f >> 4 arithmetic = 0xf800000000000000: CF = bit 3 = 1; SF; PF (low byte 0)
	T 44, 0x800000000000000f, 0, 0x002, 0x0c5, 0x085, 0xf800000000000000, sar $4, %rax

# ---- ROL, ROR, RCL, RCR (only CF and OF change; OF defined for a count of 1 only) ----
	# rol 0x81 by 1 = 0x03: CF = LSB(result) = 1; OF = MSB(result) ^ CF = 0 ^ 1 = 1
	T 45, 0x81, 0, 0x002, 0x8d5, 0x801, 0x03, rol %al
	# rol 0x1234 by 4 = 0x2341: CF = LSB = 1; PF, AF, ZF, SF stay set
	T 46, 0x1234, 0, 0x8d6, 0x0d5, 0x0d5, 0x2341, rol $4, %ax
	# rol 0x80000000 by 33 & 31 = 1 = 0x00000001: CF = 1; OF = 0 ^ 1 = 1
	T 47, 0x80000000, 33, 0x002, 0x8d5, 0x801, 0x1, rol %cl, %eax
	# ror 1 by 1 = 0x8000000000000000: CF = MSB = 1; OF = MSB ^ bit 62 = 1 ^ 0 = 1
	T 48, 0x1, 0, 0x002, 0x8d5, 0x801, 0x8000000000000000, ror %rax
	# ror 0xff by 8 = 0xff00000000000000: CF = MSB = 1; PF, AF, ZF, SF stay set
	T 49, 0xff, 0, 0x8d6, 0x0d5, 0x0d5, 0xff00000000000000, ror $8, %rax
	# rol 0x01 by 8 (8 & 31 = 8, mod 8 = 0): the value stays, but CF = LSB = 1 as the count is not 0
	T 50, 0x01, 0, 0x002, 0x0d5, 0x001, 0x01, rol $8, %al
	# ror 0x8000 by 16 (mod 16 = 0): the value stays, CF = MSB = 1
	T 51, 0x8000, 0, 0x002, 0x0d5, 0x001, 0x8000, ror $16, %ax
	# rcl CF=1:0x80 by 1 = 0x01 with CF = old bit 7 = 1; OF = MSB(result) ^ CF = 0 ^ 1 = 1
	T 52, 0x80, 0, 0x003, 0x8d5, 0x801, 0x01, rcl %al
	# rcr CF=0:0x01 by 1 = 0x00 with CF = old bit 0 = 1; OF = MSB(original) ^ old CF = 0 ^ 0 = 0
	T 53, 0x01, 0, 0x002, 0x8d5, 0x001, 0x00, rcr %al
	# rcl CF=0:0x80000000 by 2 (33-bit rotate): CF=1 EAX=0, then CF=0 EAX=1
	T 54, 0x80000000, 2, 0x002, 0x0d5, 0x000, 0x1, rcl %cl, %eax
	# rcr CF=1:0 by 1 = 0x8000000000000000, CF = 0; OF = MSB(original) ^ old CF = 0 ^ 1 = 1
	T 55, 0x0, 0, 0x003, 0x8d5, 0x800, 0x8000000000000000, rcr $1, %rax
	# rcr CF=1:0x0004 by 3 (17-bit rotate): 0x8002 CF=0, 0x4001 CF=0, 0x2000 CF=1
	T 56, 0x0004, 0, 0x003, 0x0d5, 0x001, 0x2000, rcr $3, %ax

# ---- MUL, IMUL (CF = OF = the high half is needed; SF, ZF, AF, PF undefined) ----
	# 0x80 * 0x02 = 0x0100: AH != 0: CF, OF
	TM 57, 0x80, 0x02, 0x002, 0x801, 0x801, 0x0100, 0, mul %bl
	# 0x0f * 0x0f = 0x00e1: AH = 0
	TM 58, 0x0f, 0x0f, 0x8d7, 0x801, 0x000, 0x00e1, 0, mul %bl
	# 0xffff * 0xffff = 0xfffe0001: DX=0xfffe, AX=0x0001: CF, OF
	TM 59, 0xffff, 0xffff, 0x002, 0x801, 0x801, 0x0001, 0xfffe, mul %bx
	# 0x10000 * 0x10000 = 0x1_00000000: EDX=1, EAX=0: CF, OF
	TM 60, 0x10000, 0x10000, 0x002, 0x801, 0x801, 0x0, 0x1, mul %ebx
	# 0xffffffffffffffff * 2 = 0x1_fffffffffffffffe: RDX=1: CF, OF
	TM 61, 0xffffffffffffffff, 2, 0x002, 0x801, 0x801, 0xfffffffffffffffe, 0x1, mul %rbx
	# 0x100000000 * 0xffffffff = 0xffffffff00000000: RDX=0
	TM 62, 0x100000000, 0xffffffff, 0x8d7, 0x801, 0x000, 0xffffffff00000000, 0x0, mul %rbx
	# -128 * -1 = 128 = 0x0080: does not fit in AL as a signed byte: CF, OF
	TM 63, 0x80, 0xff, 0x002, 0x801, 0x801, 0x0080, 0, imul %bl
	# -2 * 3 = -6 = 0xfffa: AL=0xfa sign-extends to AX: fits
	TM 64, 0xfe, 0x03, 0x8d7, 0x801, 0x000, 0xfffa, 0, imul %bl
	# 2^62 * 2 = 2^63 > 2^63 - 1: CF, OF; RAX = 0x8000000000000000
	TM 65, 0x4000000000000000, 2, 0x002, 0x801, 0x801, 0x8000000000000000, 0, imul %rbx, %rax
	# -1 * -1 = 1 (32 bits): fits; RAX bits 63-32 cleared
	TM 66, 0xffffffff, 0xffffffff, 0x8d7, 0x801, 0x000, 0x1, 0, imul %ebx, %eax
	# 2^62 * -2 = -2^63: fits exactly
	TM 67, 0, 0x4000000000000000, 0x8d7, 0x801, 0x000, 0x8000000000000000, 0, imul $-2, %rbx, %rax
	# 0x3000 * 3 = 0x9000 = 36864 > 32767: CF, OF
	TM 68, 0, 0x3000, 0x002, 0x801, 0x801, 0x9000, 0, imul $3, %bx, %ax
	# -1 * -1 = 1 (128-bit result): RDX=0, RAX=1: fits
	TM 69, 0xffffffffffffffff, 0xffffffffffffffff, 0x8d7, 0x801, 0x000, 0x1, 0x0, imul %rbx
	# -2^31 * 2 = -2^32 (EDX:EAX = 0xffffffff_00000000): does not fit in EAX: CF, OF
	TM 70, 0x80000000, 2, 0x002, 0x801, 0x801, 0x0, 0xffffffff, imul %ebx
	# 0x7fff * 0x7fff = 0x3fff0001: DX=0x3fff, AX=0x0001: CF, OF
	TM 71, 0x7fff, 0x7fff, 0x002, 0x801, 0x801, 0x0001, 0x3fff, imul %bx

	mov count(%rip), %eax
	mov $71, %r12d
	mov $4, %r14d
	cmp %r12d, %eax
	jne fail
	lea s_ok(%rip), %rsi
	call puts
	mov $0x36, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# fail: R12 = case, R13 = RFLAGS after it, RAX, RDX its results, R14 = exit code.
fail:
	mov %rax, %r15
	mov %rdx, %rbp
	lea s_fail(%rip), %rsi
	call puts
	mov %r12, %rax
	mov $2, %ecx
	call puthex
	lea s_rflags(%rip), %rsi
	call puts
	mov %r13, %rax
	mov $3, %ecx
	call puthex
	lea s_rax(%rip), %rsi
	call puts
	mov %r15, %rax
	mov $16, %ecx
	call puthex
	lea s_rdx(%rip), %rsi
	call puts
	mov %rbp, %rax
	mov $16, %ecx
	call puthex
	mov $0x3f8, %dx
	mov $'\n', %al
	out %al, (%dx)
	mov %r14d, %eax
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

count:	.long 0
hexdigits: .ascii "0123456789abcdef"
s_head:	.asciz "flags:"
s_ok:	.asciz " 71 cases ok\n"
s_fail:	.asciz " FAIL case "
s_rflags: .asciz " rflags="
s_rax:	.asciz " rax="
s_rdx:	.asciz " rdx="
