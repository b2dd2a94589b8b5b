# start64: the entry of the C guests in guests/c (built by test/helpers/build_c_guest.ts and run with
# `tsvmm run --mode long FILE`, loaded as a flat binary at 0x100000). tsvmm enters here at CPL 0 in 64-bit mode
# with the first 4 GiB identity-mapped by 2 MiB pages, its GDT at 0x500, its TSS at 0 and RSP=0x8ff0
# (src/arch/x86/layout.ts). This file:
#   - enables the FPU and SSE as an OS does: CR0.EM and CR0.TS clear, CR0.MP and CR0.NE set, CR4.OSFXSR and
#     CR4.OSXMMEXCPT set; FNINIT (x87 exceptions masked, precision extended, round to nearest; MXCSR keeps its
#     reset value 0x1f80);
#   - zeroes .bss (a flat binary carries none of it);
#   - runs main at CPL 3, as a userland runs: the U/S bit goes into every entry of tsvmm's identity map, a GDT
#     with user segments replaces tsvmm's (its kernel code64 selector 0x18 stays), and SYSRETQ drops to CPL 3
#     with IOPL 0 on a 64 KiB stack of its own. (On a nested KVM of the PVM kind only user code runs on the CPU:
#     its ring 0 goes through KVM's instruction emulator, which has no SSE loads, so at CPL 0 this guest would
#     stop there.)
#   - main's port I/O (OUT DX, AL / OUT DX, EAX) raises #GP at IOPL 0; the #GP handler performs it at CPL 0 and
#     resumes after it, as a system call would. No other fault is expected: any other #GP exits with code 0x7e
#     (status 253), other vectors triple-fault;
#   - when main returns, its value goes to the isa-debug-exit port 0xf4 (tsvmm then exits with status
#     (value << 1) | 1).
# _start is in .text.unlikely so that it is linked first: GCC puts main in .text.startup, which GNU ld's default
# script places before .text (.text.unlikely comes before both), and start64.o is first on the command line.
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

	lea __bss_start(%rip), %rdi	# zero .bss
	lea _end(%rip), %rcx
	sub %rdi, %rcx
	xor %eax, %eax
	cld
	rep stosb

	# User access: U/S (bit 2) in PML4[0], PDPT[0..3] and the 4 x 512 PDEs they point to.
	mov %cr3, %rax
	and $~0xfff, %rax
	orq $4, (%rax)
	mov (%rax), %rax
	and $~0xfff, %rax		# the PDPT
	mov $4, %ecx
1:	orq $4, -8(%rax,%rcx,8)
	mov -8(%rax,%rcx,8), %rdi
	and $~0xfff, %rdi		# a page directory
	mov $512, %edx
2:	orq $4, -8(%rdi,%rdx,8)
	dec %edx
	jnz 2b
	dec %ecx
	jnz 1b
	mov %cr3, %rax
	mov %rax, %cr3			# flush the TLB

	lgdt gdt_ptr(%rip)
	# The #GP gate (vector 13): a 64-bit interrupt gate, DPL 0, to gp_handler in the kernel code segment.
	lea idt(%rip), %rdi
	lea gp_handler(%rip), %rax
	mov %ax, 13*16(%rdi)		# offset 15:0
	movw $0x18, 13*16+2(%rdi)	# selector
	movw $0x8e00, 13*16+4(%rdi)	# present, DPL 0, type 0xe
	shr $16, %rax
	mov %ax, 13*16+6(%rdi)		# offset 31:16
	shr $16, %rax
	mov %eax, 13*16+8(%rdi)		# offset 63:32
	lidt idt_ptr(%rip)
	lea kstack_top(%rip), %rax
	mov %rax, 4			# RSP0 of tsvmm's TSS (at address 0): the stack for faults from CPL 3

	mov $0xc0000080, %ecx		# IA32_EFER.SCE (bit 0), for SYSRET
	rdmsr
	or $1, %eax
	wrmsr
	mov $0xc0000081, %ecx		# IA32_STAR[63:48] = 0x18: SYSRET CS = 0x18 + 16 = 0x28, SS = 0x18 + 8 = 0x20
	xor %eax, %eax			# (RPL 3); STAR[47:32], SYSCALL's CS, 0x18 (unused)
	mov $0x00180018, %edx
	wrmsr
	lea user(%rip), %rcx		# RIP
	mov $0x2, %r11d			# RFLAGS: IF clear, IOPL 0
	sysretq

# CPL 3 from here.
user:
	mov $0x23, %eax
	mov %eax, %ds
	mov %eax, %es
	lea stack_top(%rip), %rsp	# 16-byte aligned, as the SysV ABI wants before a call
	xor %ebp, %ebp
	call main
	mov $0xf4, %dx
	outl %eax, (%dx)		# isa-debug-exit (through gp_handler): the VM ends here
1:	pause
	jmp 1b

# gp_handler: #GP from CPL 3's OUT DX, AL (ee) or OUT DX, EAX (ef): does it and returns after the one-byte
# instruction. The frame: error code, RIP, CS, RFLAGS, RSP, SS.
gp_handler:
	add $8, %rsp			# the error code
	push %rsi
	mov 8(%rsp), %rsi		# the faulting RIP
	cmpb $0xee, (%rsi)
	je 1f
	cmpb $0xef, (%rsi)
	je 2f
	mov $0x7e, %eax			# not an OUT: an unexpected #GP
	mov $0xf4, %dx
	out %eax, (%dx)
1:	out %al, (%dx)
	jmp 3f
2:	out %eax, (%dx)
3:	incq 8(%rsp)			# past the OUT
	pop %rsi
	iretq

	.section .rodata
	.balign 8
gdt:	.quad 0, 0
	.quad 0x00cf92000000ffff	# 0x10 kernel data
	.quad 0x00af9a000000ffff	# 0x18 kernel code, 64-bit (tsvmm's CS)
	.quad 0x00cff2000000ffff	# 0x20 user data (DPL 3)
	.quad 0x00affa000000ffff	# 0x28 user code, 64-bit (DPL 3)
gdt_end:
gdt_ptr: .word gdt_end - gdt - 1
	.quad gdt
idt_ptr: .word 256*16 - 1
	.quad idt

	.bss
	.balign 16
idt:	.space 256*16
	.space 0x1000
kstack_top:
	.space 0x10000
stack_top:
	.section .note.GNU-stack, "", @progbits
