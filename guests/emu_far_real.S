# emu_far_real: far transfers and software interrupts in real mode, and the trip to protected mode and back
# by far jumps, checked by the guest itself.
# Build: buildFlat("emu_far_real.S", 0x1000); run: tsvmm run --mode real FILE (CS:IP = 0000:1000).
# Steps: far CALL ptr16:16 (9A) and m16:16 (FF /3) with RETF and RETF imm16; far JMP to CS = 0x100 (base
# 0x1000) and back; INT 0x21 through the IVT, the handler changing the returned FLAGS (CF) and checking IF
# cleared; INT3; INTO with OF set (and not taken with OF clear); BOUND out of range: #BR (a fault: the handler
# fixes the index and the BOUND runs again); then CR0.PE and a far JMP to 32-bit protected mode, a far JMP to
# a 16-bit protected-mode segment, CR0.PE cleared and a far JMP back to real mode (CS = 0).
# Expected output on COM1: "real: ok\n"; exit: outl 0x10 to port 0xf4 -> status 33.
# On failure: "real: FAIL xx\n" and outl 0x40 + xx.
	.code16
	.text
	.globl _start

.macro FAIL code
	mov $\code, %di
	jmp fail
.endm

_start:
	cli
	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x7000, %sp

	# IVT: 0x21, 3 (#BP), 4 (#OF), 5 (#BR).
	movw $int21, 0x21 * 4
	movw $0, 0x21 * 4 + 2
	movw $int3_handler, 3 * 4
	movw $0, 3 * 4 + 2
	movw $into_handler, 4 * 4
	movw $0, 4 * 4 + 2
	movw $br_handler, 5 * 4
	movw $0, 5 * 4 + 2

	# Far CALL / RETF.
	xor %ax, %ax
	lcall $0, $farfn
	cmp $0x1234, %ax
	je 1f
	FAIL 0x01
1:	xor %ax, %ax
	lcall *farptr			# FF /3 m16:16, to 0100:(farfn - 0x1000)
	cmp $0x0100, %bx		# the callee saw CS = 0x100
	je 1f
	FAIL 0x02
1:	push $0x55			# a parameter RETF 2 drops
	lcall $0, $farfn_release
	cmp $0x7000, %sp
	je 1f
	FAIL 0x03

	# Far JMP to CS = 0x100 (base 0x1000) and back.
1:	ljmp $0x0100, $(in_seg100 - 0x1000)
in_seg100:
	mov %cs, %ax
	cmp $0x0100, %ax
	je 1f
	FAIL 0x04
1:	ljmp $0, $back_seg0
back_seg0:
	mov %cs, %ax
	test %ax, %ax
	jz 1f
	FAIL 0x05

	# INT 0x21 with IF set: the handler sees IF clear, sets CF in the FLAGS image; IRET restores IF.
1:	sti
	clc
	mov $0x21, %ah
	int $0x21
	jc 1f
	FAIL 0x06
1:	cmp $0x4321, %bx
	je 1f
	FAIL 0x07
1:	pushf
	pop %ax
	test $0x200, %ax
	jnz 1f
	FAIL 0x08
1:	cli

	# INT3 and INTO.
	int3
	cmpw $1, bp_count
	je 1f
	FAIL 0x09
1:	xor %al, %al			# OF = 0: INTO does nothing
	into
	cmpw $0, of_count
	je 1f
	FAIL 0x0a
1:	mov $0x7f, %al
	add $1, %al			# OF = 1
	into
	cmpw $1, of_count
	je 1f
	FAIL 0x0b

	# BOUND: index 7 outside [0, 5]: #BR, the handler sets the index to 5 and returns to the BOUND.
1:	mov $7, %ax
	bound %ax, bounds
	cmp $5, %ax
	je 1f
	FAIL 0x0c
1:	cmpw $1, br_count
	je 1f
	FAIL 0x0d

	# To 32-bit protected mode and back.
1:	lgdt gdt_desc
	mov %cr0, %eax
	or $1, %al
	mov %eax, %cr0
	ljmpl $0x08, $pm32
	.code32
pm32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %cs, %eax
	cmp $0x08, %eax
	je 1f
	mov $0x0e, %edi
	jmp pm_fail
1:	ljmp $0x18, $pm16		# a 16-bit code segment, base 0
	.code16
pm16:
	mov $0x20, %ax			# 16-bit data, limit 0xffff: real-mode compatible caches
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %cr0, %eax
	and $0xfe, %al
	mov %eax, %cr0
	ljmp $0, $real_again
real_again:
	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %cs, %ax
	test %ax, %ax
	jz 1f
	FAIL 0x0f
1:	mov %cr0, %eax
	test $1, %al
	jz done
	FAIL 0x10

	.code32
pm_fail:					# from 32-bit protected mode: report and exit there
	mov %edi, %eax
	add $0x40, %eax
	mov $0xf4, %dx
	out %eax, (%dx)
1:	hlt
	jmp 1b
	.code16

farfn:
	mov %cs, %bx
	mov $0x1234, %ax
	lret
farfn_release:
	mov %sp, %bp
	cmpw $0x55, 4(%bp)
	jne 1f
	lret $2
1:	FAIL 0x11

int21:
	pushf
	pop %bx
	test $0x200, %bx		# IF cleared by the interrupt
	jz 1f
	FAIL 0x12
1:	mov %sp, %bp
	orw $1, 4(%bp)			# CF in the FLAGS image
	mov $0x4321, %bx
	iret

int3_handler:
	incw bp_count
	iret
into_handler:
	incw of_count
	iret
br_handler:
	incw br_count
	mov $5, %ax
	iret

fail:
	mov $s_fail, %si
	call puts
	mov %di, %ax
	call puthex2
	mov $s_nl, %si
	call puts
	mov %di, %ax
	add $0x40, %ax
	movzx %ax, %eax
	mov $0xf4, %dx
	out %eax, (%dx)
1:	hlt
	jmp 1b

done:
	mov $s_ok, %si
	call puts
	mov $0x10, %eax
	mov $0xf4, %dx
	out %eax, (%dx)
1:	hlt
	jmp 1b

# puts: the NUL-terminated string at SI to COM1.
puts:
	mov $0x3f8, %dx
1:	movb (%si), %al
	inc %si
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	ret

# puthex2: the low byte of AX as two hex digits.
puthex2:
	and $0xff, %ax
	xor %cx, %cx
1:	cmp $16, %ax
	jb 2f
	sub $16, %ax
	inc %cx
	jmp 1b
2:	mov %ax, %bx
	mov %cx, %si
	movb hexdigits(%si), %al
	mov $0x3f8, %dx
	out %al, (%dx)
	movb hexdigits(%bx), %al
	out %al, (%dx)
	ret

farptr:
	.word farfn - 0x1000
	.word 0x0100
bounds:
	.word 0, 5
bp_count: .word 0
of_count: .word 0
br_count: .word 0

	.balign 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	# 0x08 32-bit code
	.quad 0x00cf92000000ffff	# 0x10 32-bit data
	.quad 0x00009a000000ffff	# 0x18 16-bit code, limit 0xffff
	.quad 0x000092000000ffff	# 0x20 16-bit data, limit 0xffff
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

hexdigits: .ascii "0123456789abcdef"
s_ok:	.asciz "real: ok\n"
s_fail:	.asciz "real: FAIL "
s_nl:	.asciz "\n"
