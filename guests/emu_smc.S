# emu_smc: self-modifying code. Every loop runs well past the emulator's threshold for compiling a block
# (32 runs), so both the decoded and the compiled forms of a block must be dropped when its bytes change.
# Build: buildFlat("emu_smc.S", 0x100000); run: tsvmm run --mode long FILE (load 0x100000).
# Cases (failure code = exit value):
#   1  a loop patches the immediate of a `mov $imm32,%eax` it has already executed (earlier in the same
#      block); iteration k must load k: sum over k = 0..999 = 999*1000/2 = 499500
#   2  a loop patches the immediate of the instruction right after the writing one (same block); the
#      value written is the count 1000..1: sum = 1000*1001/2 = 500500
#   3  a loop flips an opcode: `inc %ebx` (ff c3) <-> `dec %ebx` (ff cb) after each run; 1001 runs:
#      501 incs - 500 decs = 1
#   4  as case 1, but the patch is written through another linear address: PML4[1] aliases PML4[0], so
#      0x8000000000 + x is physical x; k = 0..499: sum = 499*500/2 = 124750
#   5  a routine written into a buffer at 0x300000 and called, rewritten and called again, 300 times
#      (`mov $k,%eax; ret` with k = 1..300): each call returns its k; sum = 300*301/2 = 45150
#   6  an instruction straddling a page boundary (`mov $imm32,%eax` at 0x300ffe: the immediate's last two
#      bytes at 0x301000) whose top byte, in the second page, is rewritten between calls: 0x44332211, then
#      0xaa332211
# Expected output on COM1: "smc: 1 2 3 4 5 6 ok\n"
# Exit: 0x35 to port 0xf4 (isa-debug-exit) -> status (0x35<<1)|1 = 107.
	.code64
	.text
	.globl _start
_start:
	lea s_head(%rip), %rsi
	call puts

	xor %ebx, %ebx
	xor %ecx, %ecx
	movl $0, smc1 + 1(%rip)
1:
smc1:	.byte 0xb8			# mov $imm32, %eax
	.long 0x77777777
	add %eax, %ebx
	inc %ecx
	mov %ecx, smc1 + 1(%rip)	# the next run of this block loads the new count
	cmp $1000, %ecx
	jne 1b
	cmp $499500, %ebx
	mov $1, %bl
	jne fail
	lea s_1(%rip), %rsi
	call puts

	xor %ebx, %ebx
	mov $1000, %ecx
1:	mov %ecx, smc2 + 1(%rip)	# patches the very next instruction
smc2:	.byte 0xb8
	.long 0x77777777
	add %eax, %ebx
	dec %ecx
	jnz 1b
	cmp $500500, %ebx
	mov $2, %bl
	jne fail
	lea s_2(%rip), %rsi
	call puts

	xor %ebx, %ebx
	mov $1001, %ecx
1:
smc3:	inc %ebx			# ff c3; ff cb is dec %ebx
	xorb $0x08, smc3 + 1(%rip)
	dec %ecx
	jnz 1b
	cmp $1, %ebx
	mov $3, %bl
	jne fail
	lea s_3(%rip), %rsi
	call puts

	mov %cr3, %rax			# PML4[1] = PML4[0]: 0x8000000000 + x -> physical x
	mov (%rax), %rdx
	mov %rdx, 8(%rax)
	movabs $0x8000000000, %rdi
	lea smc4 + 1(%rip), %rax
	add %rax, %rdi
	movl $0, (%rdi)
	xor %ebx, %ebx
	xor %ecx, %ecx
1:
smc4:	.byte 0xb8
	.long 0x77777777
	add %eax, %ebx
	inc %ecx
	mov %ecx, (%rdi)		# through the alias
	cmp $500, %ecx
	jne 1b
	cmp $124750, %ebx
	mov $4, %bl
	jne fail
	lea s_4(%rip), %rsi
	call puts

	xor %ebx, %ebx
	mov $1, %ecx
	mov $0x300000, %edi
1:	movb $0xb8, (%rdi)		# mov $k, %eax
	mov %ecx, 1(%rdi)
	movb $0xc3, 5(%rdi)		# ret
	call *%rdi
	cmp %ecx, %eax
	jne 2f
	add %eax, %ebx
	inc %ecx
	cmp $301, %ecx
	jne 1b
	cmp $45150, %ebx
	je 3f
2:	mov $5, %bl
	jmp fail
3:	lea s_5(%rip), %rsi
	call puts

	mov $0x300ffe, %edi		# mov $0x44332211, %eax; ret across 0x301000
	movb $0xb8, (%rdi)
	movl $0x44332211, 1(%rdi)
	movb $0xc3, 5(%rdi)
	mov $50, %ecx
1:	call *%rdi			# (run often enough to be compiled)
	dec %ecx
	jnz 1b
	cmp $0x44332211, %eax
	mov $6, %bl
	jne fail
	movb $0xaa, 0x301002		# the immediate's top byte, in the second page
	call *%rdi
	cmp $0xaa332211, %eax
	mov $6, %bl
	jne fail
	lea s_6(%rip), %rsi
	call puts

	lea s_ok(%rip), %rsi
	call puts
	mov $0x35, %eax
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

s_head:	.asciz "smc:"
s_1:	.asciz " 1"
s_2:	.asciz " 2"
s_3:	.asciz " 3"
s_4:	.asciz " 4"
s_5:	.asciz " 5"
s_6:	.asciz " 6"
s_ok:	.asciz " ok\n"
s_fail:	.asciz " FAIL\n"
