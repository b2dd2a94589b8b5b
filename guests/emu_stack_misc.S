# emu_stack_misc: stack and miscellaneous instructions whose corner cases the SDM spells out, in 32-bit
# protected mode, each checked against values worked out by hand.
# Build: buildFlat("emu_stack_misc.S", 0x100000); run: tsvmm run --mode protected FILE (load 0x100000).
# Cases (failure code = exit value):
#   1  push %esp pushes ESP's value from before the push
#   2  pop %esp loads the popped value (the increment is lost)
#   3  pop 4(%esp): the address is computed after ESP is incremented (SDM POP)
#   4  pusha / popa: the pushed ESP is the one before PUSHA; POPA skips it
#   5  enter $16,$3 with EBP = 0x6000, ESP = 0x5800, [0x5ffc] = 0x11111111, [0x5ff8] = 0x22222222:
#      push EBP (0x6000 at 0x57fc); frame = 0x57fc; copies [0x5ffc] (at 0x57f8) and [0x5ff8] (at 0x57f4);
#      pushes frame (0x57fc at 0x57f0); EBP = 0x57fc; ESP = 0x57f0 - 16 = 0x57e0. leave: ESP = 0x57fc + 4 =
#      0x5800, EBP = 0x6000
#   6  enter $8,$0: push EBP, EBP = ESP, ESP -= 8
#   7  ret $8 pops the return address and 8 bytes more
#   8  pushw $0x1234 in 32-bit code moves ESP by 2; popw back
#   9  xlat: AL = [EBX + AL]
#  10  loop: ECX from 5 runs the body 5 times; loope stops when ZF clears; jecxz jumps with ECX = 0
#  11  cmpxchg8b: EDX:EAX = memory -> ZF, memory = ECX:EBX; then a mismatch loads EDX:EAX, ZF clear
#  12  bswap 0x11223344 = 0x44332211; movsx/movzx of 0x80: 0xffffff80 / 0x00000080
#  13  cmovl taken and cmovge not taken (after cmp 1, 2): the destination keeps its value
#  14  xchg %eax,(mem) swaps; xadd on memory
#  15  lea with 16-bit addressing wraps: addr16 lea 0xffff(%bx,%si) with BX=2, SI=3 -> 4
# Expected output on COM1: "stack misc: 15 cases ok\n"
# Exit: 0x2f to port 0xf4 (isa-debug-exit) -> status (0x2f<<1)|1 = 95.
	.code32
	.text
	.globl _start
_start:
	cli
	mov $s_head, %esi
	call puts
	mov $0x7000, %esp

	# 1: push %esp
	mov %esp, %eax
	push %esp
	pop %ebx
	mov $1, %dl
	cmp %eax, %ebx
	jne fail

	# 2: pop %esp
	mov %esp, %edi
	pushl $0x6800
	pop %esp
	mov $2, %dl
	cmp $0x6800, %esp
	jne fail
	mov %edi, %esp

	# 3: pop 4(%esp): ESP is incremented first, so the value lands at new ESP + 4 = old ESP + 8
	movl $0, 8(%esp)
	pushl $0xabcd0123		# at ESP - 4 (call it X); the pop stores at X + 4 + 4
	pop 4(%esp)
	mov $3, %dl
	cmpl $0xabcd0123, 4(%esp)
	jne fail

	# 4: pusha / popa
	mov $0x11, %eax
	mov $0x22, %ecx
	mov $0x33, %edx
	mov $0x44, %ebx
	mov $0x55, %ebp
	mov $0x66, %esi
	mov $0x77, %edi
	mov %esp, saved_esp
	pusha				# EAX ECX EDX EBX ESP(before) EBP ESI EDI
	mov saved_esp, %eax
	cmp %eax, 12(%esp)		# the pushed ESP
	jne 9f
	cmpl $0x44, 16(%esp)		# EBX
	jne 9f
	movl $0x1234, 12(%esp)		# POPA must ignore this
	xor %eax, %eax
	xor %ebx, %ebx
	popa
	cmp saved_esp, %esp
	jne 9f
	cmp $0x11, %eax
	jne 9f
	cmp $0x44, %ebx
	jne 9f
	cmp $0x77, %edi
	je 1f
9:	mov $4, %dl
	jmp fail
1:

	# 5: enter $16, $3 and leave
	mov %esp, saved_esp
	movl $0x11111111, 0x5ffc
	movl $0x22222222, 0x5ff8
	mov $0x6000, %ebp
	mov $0x5800, %esp
	enter $16, $3
	mov $5, %dl
	cmp $0x57fc, %ebp
	jne fail
	cmp $0x57e0, %esp
	jne fail
	cmpl $0x6000, 0x57fc
	jne fail
	cmpl $0x11111111, 0x57f8
	jne fail
	cmpl $0x22222222, 0x57f4
	jne fail
	cmpl $0x57fc, 0x57f0
	jne fail
	leave
	cmp $0x5800, %esp
	jne fail
	cmp $0x6000, %ebp
	jne fail

	# 6: enter $8, $0
	enter $8, $0
	mov $6, %dl
	cmp $0x57fc, %ebp
	jne fail
	cmp $0x57f4, %esp
	jne fail
	leave
	mov saved_esp, %esp

	# 7: ret $8
	mov %esp, %edi
	pushl $0
	pushl $0
	call 1f
	jmp 2f
1:	ret $8
2:	mov $7, %dl
	cmp %edi, %esp
	jne fail

	# 8: 16-bit push in 32-bit code
	mov %esp, %edi
	pushw $0x1234
	mov %edi, %eax
	sub %esp, %eax
	mov $8, %dl
	cmp $2, %eax
	jne fail
	cmpw $0x1234, (%esp)
	jne fail
	popw %ax
	cmp %edi, %esp
	jne fail

	# 9: xlat
	mov $table, %ebx
	mov $0x12345603, %eax
	xlat
	mov $9, %dl
	cmp $0x123456dd, %eax
	jne fail

	# 10: loop, loope, jecxz
	mov $5, %ecx
	xor %eax, %eax
1:	inc %eax
	loop 1b
	mov $10, %dl
	cmp $5, %eax
	jne fail
	test %ecx, %ecx
	jnz fail
	mov $10, %ecx			# loope: runs while ZF, set while EAX < 3: three runs, ECX 10 -> 7
	xor %eax, %eax
1:	inc %eax
	cmp $3, %eax
	setae %bl
	test %bl, %bl
	loope 1b
	cmp $3, %eax
	jne fail
	cmp $7, %ecx
	jne fail
	xor %ecx, %ecx
	jecxz 1f
	jmp fail
1:

	# 11: cmpxchg8b
	movl $0x11111111, qword
	movl $0x22222222, qword + 4
	mov $0x11111111, %eax
	mov $0x22222222, %edx
	mov $0x33333333, %ebx
	mov $0x44444444, %ecx
	cmpxchg8b qword
	mov $11, %dl
	jnz fail
	cmpl $0x33333333, qword
	jne fail
	cmpl $0x44444444, qword + 4
	jne fail
	xor %eax, %eax
	xor %edx, %edx
	cmpxchg8b qword
	jz 9f
	cmp $0x33333333, %eax
	jne 9f
	cmp $0x44444444, %edx
	je 1f
9:	mov $11, %dl
	jmp fail
1:

	# 12: bswap, movsx, movzx
	mov $0x11223344, %eax
	bswap %eax
	mov $12, %dl
	cmp $0x44332211, %eax
	jne fail
	mov $0x80, %bl
	movsbl %bl, %eax
	cmp $0xffffff80, %eax
	jne fail
	movzbl %bl, %eax
	cmp $0x80, %eax
	jne fail
	mov $0x8000, %bx
	movswl %bx, %eax
	cmp $0xffff8000, %eax
	jne fail

	# 13: cmov
	mov $1, %eax
	mov $2, %ebx
	mov $0xaaaa, %ecx
	mov $0xbbbb, %esi
	cmp %ebx, %eax
	cmovl %ecx, %edi		# taken: EDI = 0xaaaa
	mov $0x5555, %ebp
	cmovge %esi, %ebp		# not taken: EBP stays
	mov $13, %dl
	cmp $0xaaaa, %edi
	jne fail
	cmp $0x5555, %ebp
	jne fail

	# 14: xchg and xadd on memory
	movl $0x77, qword
	mov $0x88, %eax
	xchg %eax, qword
	mov $14, %dl
	cmp $0x77, %eax
	jne fail
	cmpl $0x88, qword
	jne fail
	mov $2, %eax
	xadd %eax, qword
	cmp $0x88, %eax
	jne fail
	cmpl $0x8a, qword
	jne fail

	# 15: 16-bit addressing wraps at 64 KiB
	mov $0xffff0002, %ebx		# only BX (2) counts
	mov $3, %esi
	addr16 lea 0xffff(%bx,%si), %eax	# (2 + 3 + 0xffff) & 0xffff = 4
	mov $15, %dl
	cmp $4, %eax
	jne fail

	mov $s_ok, %esi
	call puts
	mov $0x2f, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# fail: prints " FAIL\n" and exits with the code in DL.
fail:
	mov $0x7000, %esp
	movzbl %dl, %ebx
	mov $s_fail, %esi
	call puts
	mov %ebx, %eax
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

	.balign 8
qword:	.quad 0
saved_esp: .long 0
table:	.byte 0xaa, 0xbb, 0xcc, 0xdd
s_head:	.asciz "stack misc:"
s_ok:	.asciz " 15 cases ok\n"
s_fail:	.asciz " FAIL\n"
