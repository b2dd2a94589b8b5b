# start64: the entry of the C guests in guests/c (built by test/helpers/build_c_guest.ts and run with
# `tsvmm run --mode long FILE`, loaded as a flat binary at 0x100000). tsvmm enters here in 64-bit mode with the
# first 4 GiB identity-mapped and RSP=0x8ff0 (src/arch/x86/layout.ts). This file enables the FPU and SSE as an OS
# does (CR0.EM and CR0.TS clear, CR0.MP and CR0.NE set; CR4.OSFXSR and CR4.OSXMMEXCPT set), resets the x87
# (FNINIT: all exceptions masked, precision extended, round to nearest; MXCSR keeps its reset value 0x1f80),
# zeroes .bss, moves to a 64 KiB stack of its own, calls main() and writes main's return value to the
# isa-debug-exit port 0xf4 (tsvmm then exits with status (value << 1) | 1).
# It is placed in .text.unlikely so that it is linked first: GCC puts main in .text.startup, which GNU ld's
# default script places before .text (and .text.unlikely before both); start64.o comes first on the command line.
	.code64
	.section .text.unlikely.start64, "ax"
	.globl _start
_start:
	mov %cr0, %rax
	and $~0xc, %rax			# EM (bit 2) and TS (bit 3) clear
	or $0x22, %rax			# MP (bit 1), NE (bit 5): x87 errors as #MF
	mov %rax, %cr0
	mov %cr4, %rax
	or $0x600, %rax			# OSFXSR (bit 9), OSXMMEXCPT (bit 10)
	mov %rax, %cr4
	fninit

	lea __bss_start(%rip), %rdi	# zero .bss (a flat binary carries none of it)
	lea _end(%rip), %rcx
	sub %rdi, %rcx
	xor %eax, %eax
	cld
	rep stosb

	lea stack_top(%rip), %rsp	# 16-byte aligned, as the SysV ABI wants before a call
	xor %ebp, %ebp
	call main
	mov $0xf4, %dx
	outl %eax, (%dx)		# isa-debug-exit: the VM ends here
1:	hlt
	jmp 1b

	.bss
	.balign 16
	.space 0x10000
stack_top:
	.section .note.GNU-stack, "", @progbits
