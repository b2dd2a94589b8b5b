# elf64_kernel: a plain ELF64 kernel (no Multiboot header) linked at 1 MiB, entered in 64-bit long mode.
# Build: buildElf("elf64_kernel.S", "elf64_kernel.ld", "elf64"). Run: tsvmm run --kernel FILE.
# Entry state expected: the one of `--mode long` (CS 0x18 with L=1, data 0x10, 4-level paging identity-mapping
# the first 4 GiB, EFER.LME|LMA); the entry point is the ELF's e_entry (_start). The kernel sets its own stack.
# Two PT_LOAD segments: text at 0x100000, and data + bss at 0x101000 (p_memsz > p_filesz: the loader zeroes
# the rest). The strings live in .data: a loader that skips the second segment prints no text at all.
#
# Expected output on COM1 (one line):
#   elf64: long mode
# Cost: 95 guest instructions, 18 exits.
# Exit: outl 0x23 to port 0xf4 -> process exit status (0x23<<1)|1 = 71.
# If the CPU is not in 64-bit mode (measured: byte 0x40 is a REX prefix only there) it prints
# "elf64: not long mode" and exits with 0x7f, if it gets that far. If the .bss is not zero it prints
# "elf64: bss not zeroed" and exits with 0x7d.
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0xf4

	.code64
	.text
	.globl _start
_start:
	lea stack_top(%rip), %rsp	# RIP-relative addressing: 64-bit mode only
	cld
	lea s_prefix(%rip), %rsi
	call puts
	cmpq $0, bss_word(%rip)
	jne bad_bss
	xor %eax, %eax
	.byte 0x40			# 64-bit mode: an empty REX prefix on the nop; 32-bit code: inc %eax
	nop
	test %eax, %eax
	jnz not_long
	movabs $s_long, %r8		# a 64-bit immediate into r8: 64-bit mode only
	mov %r8, %rsi
	mov $0x23, %r15d
	jmp finish
not_long:
	lea s_not_long(%rip), %rsi
	mov $0x7f, %r15d
	jmp finish
bad_bss:
	lea s_bad_bss(%rip), %rsi
	mov $0x7d, %r15d
finish:
	call puts
	mov %r15d, %eax
	mov $DEBUG_EXIT, %dx
	outl %eax, (%dx)		# isa-debug-exit: the VM ends here
1:	hlt
	jmp 1b

# puts: writes the NUL-terminated string at RSI to COM1. Clobbers RAX, RDX, RSI.
puts:
	mov $COM1, %dx
1:	lodsb
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	ret

	.data
s_prefix:	.asciz "elf64: "
s_long:		.asciz "long mode\n"
s_not_long:	.asciz "not long mode\n"
s_bad_bss:	.asciz "bss not zeroed\n"

	.bss
	.balign 16
bss_word:	.quad 0
stack:		.skip 4096
stack_top:
