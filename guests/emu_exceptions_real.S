# emu_exceptions_real: exceptions delivered through the real-mode IVT (4-byte vectors at 0, frames of FLAGS,
# CS, IP and never an error code), each handler recording the vector and the return CS:IP.
# Build: buildFlat("emu_exceptions_real.S", 0x1000); run: tsvmm run [--mode real] FILE (load 0x1000).
# Cases (vector / return IP):
#   #DE   div %bl with BL=0                               0 / the div
#   #DE   div %bl with AX=0x1000, BL=1 (quotient > 0xff) 0 / the div
#   #UD   ud2; this handler returns with IRET past it     6 / the ud2, then execution continues after it
#   #GP   mov 0xffff,%ax: a word at DS offset 0xffff crosses the 64 KiB limit   13 / the mov
#   #SS   mov %ss:0xffff,%ax: the same through SS        12 / the mov
#   #DF   the IVT limit cut to 0x23 (vectors 0-8) and int $0x20: its #GP cannot be delivered either
#         (13*4+3 > 0x23), a contributory fault during a contributory one: #DF, vector 8
#   (#NP needs descriptors: protected and long mode only.)
# Failure codes (exit value): case base + 0 no exception, + 1 wrong vector, + 2 wrong CS:IP; bases:
# #DE 0x01, #DE(overflow) 0x05, #UD 0x09, #GP 0x0d, #SS 0x11, #DF 0x15. A vector not expected: 0x40 + vector.
# Expected output on COM1: "exceptions real: #DE #DE #UD #GP #SS #DF ok\n"
# Exit: 0x32 to port 0xf4 (isa-debug-exit) -> status (0x32<<1)|1 = 101.
	.code16
	.text
	.globl _start
_start:
	cli
	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x7000, %sp
	mov $s_head, %si
	call puts

	# IVT: vector v -> 0000:stubs + 8*v
	xor %di, %di
	mov $stubs, %ax
1:	mov %ax, (%di)
	movw $0, 2(%di)
	add $8, %ax
	add $4, %di
	cmp $32 * 4, %di
	jne 1b

# EXC base, vector, insn...: runs insn expecting the exception `vector`, returned from at insn's address.
.macro EXC base, vec, insn:vararg
	movw $3f, r_resume
	mov %sp, r_sp
	movw $0xffff, r_vec
2:	\insn
	mov $\base, %bl
	jmp fail
3:	mov $\base + 1, %bl
	cmpw $\vec, r_vec
	jne fail
	mov $\base + 2, %bl
	cmpw $2b, r_ip
	jne fail
	cmpw $0, r_cs
	jne fail
.endm

	mov $1, %ax
	xor %bl, %bl
	EXC 0x01, 0, div %bl
	mov $s_de, %si
	call puts
	mov $0x1000, %ax		# 0x1000 / 1 = 0x1000: does not fit in AL
	mov $1, %bl
	EXC 0x05, 0, div %bl
	mov $s_de, %si
	call puts

	movw $0xffff, r_vec
	movw $2, r_skip			# the handler returns 2 bytes past the ud2
	movw $1f, r_resume		# (only if it does not return)
	mov %sp, r_sp
2:	ud2
	mov $0x09 + 1, %bl
	cmpw $6, r_vec
	jne fail
	mov $0x09 + 2, %bl
	cmpw $2b, r_ip
	jne fail
	jmp 3f
1:	mov $0x09, %bl
	jmp fail
3:	mov $s_ud, %si
	call puts

	EXC 0x0d, 13, mov 0xffff, %ax
	mov $s_gp, %si
	call puts
	EXC 0x11, 12, mov %ss:0xffff, %ax
	mov $s_ss, %si
	call puts

	lidt ivt_short			# vectors 0-8 only
	movw $3f, r_resume
	mov %sp, r_sp
	movw $0xffff, r_vec
	int $0x20
	mov $0x15, %bl
	jmp fail
3:	lidt ivt_full
	mov $0x15 + 1, %bl
	cmpw $8, r_vec
	jne fail
	mov $s_df, %si
	call puts

	mov $s_ok, %si
	call puts
	mov $0x32, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# fail: prints " FAIL\n" and exits with the code in BL.
fail:
	mov $s_fail, %si
	call puts
	movzbl %bl, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# puts: writes the NUL-terminated string at SI to COM1. Clobbers AL, DX, SI.
puts:
	mov $0x3f8, %dx
1:	movb (%si), %al
	test %al, %al
	jz 2f
	out %al, (%dx)
	inc %si
	jmp 1b
2:	ret

# common: the stub pushed the vector over the IVT frame (IP, CS, FLAGS). Records vector, IP and CS; when
# r_skip is set, returns with IRET r_skip bytes further (once), else resumes at r_resume with SP = r_sp.
common:
	push %bp
	mov %sp, %bp
	mov 2(%bp), %ax
	mov %ax, r_vec
	mov 4(%bp), %ax
	mov %ax, r_ip
	mov 6(%bp), %ax
	mov %ax, r_cs
	mov r_skip, %ax
	test %ax, %ax
	jz 1f
	movw $0, r_skip
	add %ax, 4(%bp)
	pop %bp
	add $2, %sp
	iret
1:	mov r_sp, %sp
	jmp *r_resume

	.balign 8
stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign 8
	push $\v
	jmp common
	.endr

	.balign 8
ivt_short:
	.word 9 * 4 - 1
	.long 0
ivt_full:
	.word 0x3ff
	.long 0
r_resume: .word 0
r_sp:	.word 0
r_vec:	.word 0
r_ip:	.word 0
r_cs:	.word 0
r_skip:	.word 0
s_head:	.asciz "exceptions real:"
s_de:	.asciz " #DE"
s_ud:	.asciz " #UD"
s_gp:	.asciz " #GP"
s_ss:	.asciz " #SS"
s_df:	.asciz " #DF"
s_ok:	.asciz " ok\n"
s_fail:	.asciz " FAIL\n"
