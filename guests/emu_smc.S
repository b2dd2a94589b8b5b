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
# Remapping, not rewriting: tsvmm's PD entry for 0x400000-0x5fffff is pointed at a page table (0x600000)
# of 4 KiB pages, identity but for the two pages remapped:
#   7  linear 0x401000 -> physical 0x402000 (`mov $1,%eax; ret`), called 50 times, then -> 0x403000
#      (`mov $2,%eax; ret`) with INVLPG: the next call returns 2
#   8  `mov $imm32,%eax; ret` at linear 0x404ffe straddling into 0x405000, which maps physical 0x406000
#      (immediate 0x44332211) and then 0x407000 (0x55332211) with INVLPG: the call after returns 0x55332211
# Expected output on COM1: "smc: 1 2 3 4 5 6 7 8 ok\n"
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

	mov $0x600000, %edi		# the page table: identity for 0x400000-0x5fffff
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $12, %eax
	add $0x400003, %eax
	mov %rax, (%rdi,%rcx,8)
	inc %ecx
	cmp $512, %ecx
	jne 1b
	movq $0x402003, 0x600000 + 1 * 8	# 0x401000 -> 0x402000
	movq $0x406003, 0x600000 + 5 * 8	# 0x405000 -> 0x406000
	movl $0x000001b8, 0x402000	# mov $1, %eax; ret
	movl $0xc3000000, 0x402004
	movl $0x000002b8, 0x403000	# mov $2, %eax; ret
	movl $0xc3000000, 0x403004
	movw $0x11b8, 0x404ffe		# mov $0x44332211, %eax; ret: b8 11 | 22 33 44 c3
	movl $0xc3443322, 0x406000
	movl $0xc3553322, 0x407000	# the other second page: 0x55332211
	mov %cr3, %rax			# PD[2] of the first GiB -> the page table
	mov (%rax), %rax
	and $~0xfff, %rax
	mov (%rax), %rax		# PDPT[0] -> PD
	and $~0xfff, %rax
	movq $0x600003, 2 * 8(%rax)
	mov %cr3, %rax
	mov %rax, %cr3

	mov $50, %ecx
1:	mov $0x401000, %eax
	call *%rax
	dec %ecx
	jnz 1b
	mov $7, %bl
	cmp $1, %eax
	jne fail
	movq $0x403003, 0x600000 + 1 * 8
	invlpg 0x401000
	mov $0x401000, %eax
	call *%rax
	cmp $2, %eax
	jne fail
	lea s_7(%rip), %rsi
	call puts

	mov $50, %ecx
1:	mov $0x404ffe, %eax
	call *%rax
	dec %ecx
	jnz 1b
	mov $8, %bl
	cmp $0x44332211, %eax
	jne fail
	movq $0x407003, 0x600000 + 5 * 8
	invlpg 0x405000
	mov $0x404ffe, %eax
	call *%rax
	cmp $0x55332211, %eax
	jne fail
	lea s_8(%rip), %rsi
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
s_7:	.asciz " 7"
s_8:	.asciz " 8"
s_ok:	.asciz " ok\n"
s_fail:	.asciz " FAIL\n"
