# emu_flags32: results and RFLAGS of the instructions emu_flags.S leaves out, in 32-bit protected mode (the
# BCD adjustments do not exist in 64-bit mode): DAA, DAS, AAA, AAS, AAM, AAD, BT/BTS/BTR/BTC (register
# and memory bit strings), BSF/BSR, SHLD/SHRD, CMPXCHG, XADD, high-byte registers, CBW/CWDE/CWD/CDQ,
# SETcc, LAHF/SAHF and DIV/IDIV, against values worked out by hand (the arithmetic is in the comments).
# Build: buildFlat("emu_flags32.S", 0x100000); run: tsvmm run --mode protected FILE (load 0x100000).
# Flags: CF 0x001, PF 0x004, AF 0x010, ZF 0x040, SF 0x080, OF 0x800. Only the flags the SDM defines for a
# case are compared (the mask); flags it leaves alone are checked to be left alone.
# Each case: EAX = a, EBX = ECX = b, EDX = d, EFLAGS = init (POPF), the instruction(s), then
# (EFLAGS & mask), EAX and EDX must equal the expected values.
# On a mismatch the guest prints "flags32: FAIL case N eflags=... eax=... edx=..." and exits with 1 (flags),
# 2 (EAX) or 3 (EDX).
# Expected output on COM1: "flags32: 51 cases ok\n"
# Exit: 0x3a to port 0xf4 (isa-debug-exit) -> status (0x3a<<1)|1 = 117.
	.code32
	.text
	.globl _start

# T id, a, b, d, init, mask, flags, eax, edx, insn...
.macro T id, a, b, d, init, mask, fl, res, resd, insn:vararg
	TS \id, \a, \b, \d, \init, \mask, \fl, \res, \resd, "\insn"
.endm

# TS id, a, b, d, init, mask, flags, eax, edx, "insn", "insn2", "insn3": a sequence of up to three.
.macro TS id, a, b, d, init, mask, fl, res, resd, i1, i2="", i3=""
	mov $\a, %eax
	mov $\b, %ebx
	mov %ebx, %ecx
	mov $\d, %edx
	push $\init
	popf
	\i1
	\i2
	\i3
	pushf
	pop %edi
	mov $\id, %ebp
	mov %edi, %esi
	and $\mask, %edi
	movl $1, code
	cmp $\fl, %edi
	jne fail
	movl $2, code
	cmp $\res, %eax
	jne fail
	movl $3, code
	cmp $\resd, %edx
	jne fail
	incl count
.endm

_start:
	mov $s_head, %esi
	call puts

# ---- DAA, DAS (OF undefined) ----
	# AL=0xae (0x79 + 0x35 in binary): low nibble 0xe > 9: AL = 0xb4, AF; old AL 0xae > 0x99: AL = 0x14, CF
	# (79 + 35 = 114); PF (0x14: two ones)
	T 1, 0xae, 0, 0, 0x002, 0x0d5, 0x015, 0x14, 0, daa
	# AL=0x0a (9 + 1): 0xa > 9: AL = 0x10, AF; old AL <= 0x99, CF clear: no CF; PF clear (one 1)
	T 2, 0x0a, 0, 0, 0x002, 0x0d5, 0x010, 0x10, 0, daa
	# AL=0x9a (99 + 1): AL = 0xa0, AF; old AL 0x9a > 0x99: AL = 0x00, CF; ZF, PF
	T 3, 0x9a, 0, 0, 0x002, 0x0d5, 0x055, 0x00, 0, daa
	# AL=0x10 with AF (8 + 8): AL = 0x16, AF; no CF; PF clear (0x16: three ones)
	T 4, 0x10, 0, 0, 0x012, 0x0d5, 0x010, 0x16, 0, daa
	# AL=0xee with CF, AF (0x35 - 0x47): AL = 0xe8, AF; old AL > 0x99: AL = 0x88, CF (35 - 47 = -12 ->
	# 88 borrow); SF, PF (0x88: two ones)
	T 5, 0xee, 0, 0, 0x013, 0x0d5, 0x095, 0x88, 0, das
	# AL=0x0f with AF (0x12 - 0x03): AL = 0x09, AF; no CF; PF (0x09: two ones)
	T 6, 0x0f, 0, 0, 0x012, 0x0d5, 0x014, 0x09, 0, das

# ---- AAA, AAS (only AF and CF defined) ----
	# AX=0x000f: 0xf > 9: AX = 0x000f + 0x106 = 0x0115, AL &= 0xf: 0x0105; AF, CF
	T 7, 0x000f, 0, 0, 0x002, 0x011, 0x011, 0x0105, 0, aaa
	# AX=0x0008, AF clear (CF set): no adjustment; AF, CF cleared; AL = 0x08
	T 8, 0x0008, 0, 0, 0x003, 0x011, 0x000, 0x0008, 0, aaa
	# AX=0x00fa: 0xa > 9: AX = 0x00fa + 0x106 = 0x0200, AL &= 0xf: 0x0200 (AX + 0x106, not AH + 1)
	T 9, 0x00fa, 0, 0, 0x002, 0x011, 0x011, 0x0200, 0, aaa
	# AX=0x02fe with AF: AX - 6 = 0x02f8, AH - 1 = 0x01, AL &= 0xf: 0x0108; AF, CF
	T 10, 0x02fe, 0, 0, 0x012, 0x011, 0x011, 0x0108, 0, aas
	# AX=0x0005 with AF: AX - 6 = 0xffff, AH - 1 = 0xfe, AL &= 0xf: 0xfe0f; AF, CF
	T 11, 0x0005, 0, 0, 0x012, 0x011, 0x011, 0xfe0f, 0, aas
	# AX=0x0104, AF clear (CF set): no adjustment; AF, CF cleared
	T 12, 0x0104, 0, 0, 0x003, 0x011, 0x000, 0x0104, 0, aas

# ---- AAM, AAD (SF, ZF, PF from AL) ----
	# AL=63: AH = 63 / 10 = 6, AL = 63 % 10 = 3: AX=0x0603; PF (0x03: two ones)
	T 13, 0x3f, 0, 0, 0x002, 0x0c4, 0x004, 0x0603, 0, aam
	# aam $16, AL=0xa5: AH = 0x0a, AL = 0x05: PF (two ones)
	T 14, 0xa5, 0, 0, 0x002, 0x0c4, 0x004, 0x0a05, 0, aam $16
	# AL=0: AX=0; ZF, PF
	T 15, 0x00, 0, 0, 0x002, 0x0c4, 0x044, 0x0000, 0, aam
	# AX=0x0607: AL = 6 * 10 + 7 = 67 = 0x43, AH = 0; PF clear (0x43: three ones)
	T 16, 0x0607, 0, 0, 0x0c6, 0x0c4, 0x000, 0x0043, 0, aad
	# aad $16, AX=0x0f0f: 15 * 16 + 15 = 255 = 0xff: SF, PF
	T 17, 0x0f0f, 0, 0, 0x002, 0x0c4, 0x084, 0x00ff, 0, aad $16
	# AX=0x1a0a: 26 * 10 + 10 = 270, & 0xff = 0x0e; PF clear (three ones)
	T 18, 0x1a0a, 0, 0, 0x002, 0x0c4, 0x000, 0x000e, 0, aad

# ---- BT, BTS, BTR, BTC (CF = the bit; ZF unchanged) ----
	# bit 5 of 0x20: CF; ZF stays set
	T 19, 0x20, 0, 0, 0x042, 0x041, 0x041, 0x20, 0, bt $5, %eax
	# register bit offset 33 -> 33 mod 32 = 1: bit 1 of 0x1 is 0; EAX = 0x3
	T 20, 0x1, 33, 0, 0x002, 0x041, 0x000, 0x3, 0, bts %ebx, %eax
	# bit 0 of 0x8001: CF; AX = 0x8000
	T 21, 0x8001, 0, 0, 0x002, 0x041, 0x001, 0x8000, 0, btr $0, %ax
	# bit 31 of 0: no CF; EAX = 0x80000000
	T 22, 0x0, 0, 0, 0x002, 0x041, 0x000, 0x80000000, 0, btc $31, %eax
	# memory bit string, offset 35: bit 3 of the dword at bitbuf + 4 (0x8): CF
	T 23, 0, 35, 0, 0x002, 0x041, 0x001, 0, 0, bt %ebx, bitbuf
	# offset -1: bit 7 of the byte before bitbuf (0x80): CF
	T 24, 0, -1, 0, 0x002, 0x041, 0x001, 0, 0, bt %ebx, bitbuf
	# bts offset 64 + 2: bitbuf + 8 goes 0 -> 4; CF clear; then read back
	TS 25, 0, 66, 0, 0x002, 0x041, 0x000, 4, 0, "bts %ebx, bitbuf", "mov bitbuf + 8, %eax"

# ---- BSF, BSR (ZF = source is 0) ----
	# lowest set bit of 0x00018000 is 15
	T 26, 0, 0x00018000, 0, 0x042, 0x040, 0x000, 15, 0, bsf %ebx, %eax
	# highest set bit of 0x00018000 is 16
	T 27, 0, 0x00018000, 0, 0x042, 0x040, 0x000, 16, 0, bsr %ebx, %eax
	# source 0: ZF (the destination is not compared)
	TS 28, 0, 0, 0, 0x002, 0x040, 0x040, 0, 0, "bsf %ebx, %edx", "mov $0, %eax", "mov $0, %edx"
	# 16-bit: highest set bit of 0x0001 is 0
	T 29, 0xffff, 0x0001, 0, 0x002, 0x040, 0x000, 0, 0, bsr %bx, %ax

# ---- SHLD, SHRD (AF undefined; OF defined for a count of 1) ----
	# 0x12345678 shld 4 from 0x9abcdef0 = 0x23456789; CF = bit 28 of 0x12345678 = 1; PF clear (0x89)
	T 30, 0x12345678, 0x9abcdef0, 0, 0x002, 0x0c5, 0x001, 0x23456789, 0, shld $4, %ebx, %eax
	# 0x12345678 shrd 8 from 0x000000ab = 0xab123456; CF = bit 7 of 0x78 = 0; SF; PF (0x56: four ones)
	T 31, 0x12345678, 0x000000ab, 0, 0x002, 0x0c5, 0x084, 0xab123456, 0, shrd $8, %ebx, %eax
	# 16-bit 0x8001 shld 1 from 0xc000 = 0x0003; CF = bit 15 = 1; OF (sign 1 -> 0); PF (two ones)
	T 32, 0x8001, 0xc000, 0, 0x002, 0x8c5, 0x805, 0x0003, 0, shld $1, %bx, %ax
	# 1 shrd 1 from 0 = 0; CF = 1; ZF, PF; OF clear (sign 0 -> 0)
	T 33, 0x1, 0x0, 0, 0x002, 0x8c5, 0x045, 0x0, 0, shrd $1, %ebx, %eax
	# 0x80000001 shld CL=31 from 0x7fffffff: EAX = (0x80000001 << 31) | (0x7fffffff >> 1) = 0x80000000 |
	# 0x3fffffff = 0xbfffffff; CF = bit 1 of 0x80000001 = 0; SF, PF (0xff)
	T 34, 0x80000001, 31, 0x7fffffff, 0x002, 0x0c5, 0x084, 0xbfffffff, 0x7fffffff, shld %cl, %edx, %eax

# ---- CMPXCHG, XADD ----
	# EAX=0 = EDX=0: ZF (0 - 0: ZF, PF), EDX = EBX = 7
	T 35, 0, 7, 0, 0x002, 0x8d5, 0x044, 0, 7, cmpxchg %ebx, %edx
	# EAX=5 != EDX=3: EAX = 3; flags of 5 - 3 = 2: no ZF, PF clear (one 1)
	T 36, 5, 7, 3, 0x002, 0x8d5, 0x000, 3, 3, cmpxchg %ebx, %edx
	# AL=0x80 vs DL=0x81: 0x80 - 0x81 = 0xff: CF, SF, AF, PF; AL = 0x81
	T 37, 0x80, 0, 0x81, 0x002, 0x8d5, 0x095, 0x81, 0x81, cmpxchg %bl, %dl
	# xadd: EAX = 0xffffffff + 1 = 0 (CF, ZF, PF, AF), EDX = old EAX = 0xffffffff
	T 38, 0xffffffff, 0, 1, 0x002, 0x8d5, 0x055, 0, 0xffffffff, xadd %edx, %eax
	# 16-bit xadd: AX = 0x7fff + 1 = 0x8000 (OF, SF, AF, PF), DX = 0x7fff
	T 39, 0x7fff, 0, 1, 0x002, 0x8d5, 0x894, 0x8000, 0x7fff, xadd %dx, %ax

# ---- high-byte registers, sign extension, SETcc, LAHF/SAHF ----
	# AH = 0x7f + BH 0x01 = 0x80: OF, SF, AF; PF clear
	T 40, 0x00007f00, 0x0100, 0, 0x002, 0x8d5, 0x890, 0x00008000, 0, add %bh, %ah
	# xchg AH, AL: 0x1234 -> 0x3412, no flags
	T 41, 0x1234, 0, 0, 0x8d7, 0x8d5, 0x8d5, 0x3412, 0, xchg %ah, %al
	# cbw: AL 0x80 -> AX 0xff80, EAX bits 31-16 kept
	T 42, 0x12340080, 0, 0, 0x002, 0x8d5, 0x000, 0x1234ff80, 0, cbw
	# cwde: AX 0x8000 -> EAX 0xffff8000
	T 43, 0x00008000, 0, 0, 0x002, 0x8d5, 0x000, 0xffff8000, 0, cwde
	# cdq: EAX 0x80000000 -> EDX 0xffffffff
	T 44, 0x80000000, 0, 0, 0x002, 0x8d5, 0x000, 0x80000000, 0xffffffff, cdq
	# cwd: AX 0x8000 -> DX 0xffff, EDX bits 31-16 kept
	T 45, 0x8000, 0, 0xabcd1234, 0x002, 0x8d5, 0x000, 0x8000, 0xabcdffff, cwd
	# cmp -1, 1: 0xffffffff - 1 = 0xfffffffe: SF; signed less (SF != OF): DL = 1; unsigned below: DH = 0
	TS 46, 0xffffffff, 1, 0, 0x002, 0x8d5, 0x080, 0xffffffff, 0x0001, "cmp %ebx, %eax", "setl %dl", "setb %dh"
	# cmp 1, 2 (16-bit): 1 - 2 = 0xffff: CF, SF, AF, PF; below (CF): DL = 1; less or equal: DH = 1
	TS 47, 1, 2, 0, 0x002, 0x8d5, 0x095, 1, 0x0101, "cmp %bx, %ax", "setb %dl", "setle %dh"
	# sahf with AH = 0xd5: SF, ZF, AF, PF, CF; OF stays clear
	T 48, 0xd500, 0, 0, 0x002, 0x8d5, 0x0d5, 0xd500, 0, sahf
	# lahf with every flag set: AH = SF ZF 0 AF 0 PF 1 CF = 0xd7
	T 49, 0, 0, 0, 0x8d7, 0x8d5, 0x8d5, 0xd700, 0, lahf

# ---- DIV, IDIV (flags undefined) ----
	# EDX:EAX = 0x1_00000000 / 0x10 = 0x10000000, remainder 0
	T 50, 0, 0x10, 1, 0x002, 0, 0, 0x10000000, 0, div %ebx
	# AX = -7 / BL = 2: AL = -3 (0xfd), AH = -1 (0xff): the remainder has the dividend's sign
	T 51, 0xfff9, 2, 0, 0x002, 0, 0, 0xfffd, 0, idiv %bl

	mov count, %eax
	mov $51, %ebp
	movl $4, code
	cmp %ebp, %eax
	jne fail
	mov $s_ok, %esi
	call puts
	mov $0x3a, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# fail: EBP = case, ESI = EFLAGS after it, EAX, EDX its results, `code` the exit code.
fail:
	mov %eax, r_eax
	mov %edx, r_edx
	mov %esi, r_flags
	mov $s_fail, %esi
	call puts
	mov %ebp, %eax
	mov $2, %ecx
	call puthex
	mov $s_eflags, %esi
	call puts
	mov r_flags, %eax
	mov $3, %ecx
	call puthex
	mov $s_eax, %esi
	call puts
	mov r_eax, %eax
	mov $8, %ecx
	call puthex
	mov $s_edx, %esi
	call puts
	mov r_edx, %eax
	mov $8, %ecx
	call puthex
	mov $0x3f8, %dx
	mov $'\n', %al
	out %al, (%dx)
	mov code, %eax
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

# puthex: writes the low ECX hex digits of EAX. Clobbers EAX, EBX, ECX, EDX.
puthex:
	mov %eax, %ebx
	shl $2, %ecx
	mov $0x3f8, %dx
1:	sub $4, %ecx
	mov %ebx, %eax
	shr %cl, %eax
	and $0xf, %eax
	movb hexdigits(%eax), %al
	out %al, (%dx)
	test %ecx, %ecx
	jnz 1b
	ret

	.balign 4
	.byte 0, 0, 0, 0x80		# the byte before bitbuf: bit -1
bitbuf:	.long 0, 0x8, 0
count:	.long 0
code:	.long 0
r_eax:	.long 0
r_edx:	.long 0
r_flags: .long 0
hexdigits: .ascii "0123456789abcdef"
s_head:	.asciz "flags32:"
s_ok:	.asciz " 51 cases ok\n"
s_fail:	.asciz " FAIL case "
s_eflags: .asciz " eflags="
s_eax:	.asciz " eax="
s_edx:	.asciz " edx="
