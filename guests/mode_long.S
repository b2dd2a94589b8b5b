# mode_long: proves tsvmm's `--mode long` entry state for flat binaries.
# Build: buildFlat("mode_long.S", 0x100000) (the source has .code64, so it is assembled with `as --64`);
# run: tsvmm run --mode long FILE (load 0x100000).
# Entry state expected: CS selector 0x18 (64-bit code, L=1), data selector 0x10, CR4.PAE, EFER.LME|LMA,
# 4-level paging identity-mapping the first 4 GiB with 2 MiB pages, RSP=0x8ff0.
#
# Expected output on COM1 (one line, then the VM ends):
#   long: efer.lme=1 efer.lma=1 cr4.pae=1 cs=0018 cs.l=1 rsp=0000000000008ff0 pde(ffe00000)=00000000ffe00083 r8=0123456789abcdef
# cs.l is measured, not read from a descriptor: byte 0x40 is a REX prefix in 64-bit mode but `inc %eax`
# elsewhere. pde(ffe00000) is the page-directory entry for the last 2 MiB below 4 GiB, found by walking
# CR3 -> PML4[0] -> PDPT[3] -> PD[511] and masked with 0x000fffffffe00083 (address | PS | R/W | P).
# r8 is printed with 64-bit shifts of a movabs'd 64-bit immediate: both need 64-bit mode.
# Exit: outl 0x13 to port 0xf4 (isa-debug-exit) -> process exit status (0x13<<1)|1 = 39.
# Cost: 771 guest instructions, 126 exits.
# (No int3 here: this machine's nested KVM cannot emulate int3 in long mode.)
	.code64
	.text
	.globl _start
_start:
	mov %rsp, %rbp			# the entry RSP, before any call moves it

	mov $0xc0000080, %ecx		# IA32_EFER
	rdmsr
	mov %eax, %r12d
	lea s_head(%rip), %rsi
	call puts
	mov %r12d, %eax
	shr $8, %eax			# EFER.LME (bit 8)
	call putbit
	lea s_lma(%rip), %rsi
	call puts
	mov %r12d, %eax
	shr $10, %eax			# EFER.LMA (bit 10)
	call putbit
	lea s_pae(%rip), %rsi
	call puts
	mov %cr4, %rax
	shr $5, %eax			# CR4.PAE (bit 5)
	call putbit

	lea s_cs(%rip), %rsi
	call puts
	mov %cs, %eax
	mov $4, %ecx
	call puthex
	lea s_l(%rip), %rsi
	call puts
	xor %eax, %eax
	.byte 0x40			# 64-bit mode: an empty REX prefix on the nop; 32-bit code: inc %eax
	nop
	xor $1, %eax			# 1 in 64-bit mode
	call putbit

	lea s_rsp(%rip), %rsi
	call puts
	mov %rbp, %rax
	mov $16, %ecx
	call puthex

	lea s_pde(%rip), %rsi
	call puts
	movabs $0x000ffffffffff000, %r9	# the table address bits of an entry
	mov %cr3, %rax
	and %r9, %rax
	mov 0*8(%rax), %rax		# PML4[0]: 0 .. 512 GiB
	and %r9, %rax
	mov 3*8(%rax), %rax		# PDPT[3]: 3 .. 4 GiB
	and %r9, %rax
	mov 511*8(%rax), %rax		# PD[511]: 0xffe00000 .. 0xffffffff
	movabs $0x000fffffffe00083, %r9
	and %r9, %rax
	mov $16, %ecx
	call puthex

	lea s_r8(%rip), %rsi
	call puts
	movabs $0x0123456789abcdef, %r8
	mov %r8, %rax
	mov $16, %ecx
	call puthex

	mov $0x3f8, %dx
	mov $'\n', %al
	out %al, (%dx)
	mov $0x13, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)		# isa-debug-exit: the VM ends here
1:	hlt
	jmp 1b

# puts: writes the NUL-terminated string at RSI to COM1. Clobbers RAX, RDX, RSI.
puts:
	mov $0x3f8, %dx
1:	lodsb
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	ret

# putbit: writes '0' or '1' for bit 0 of EAX. Clobbers RAX, RDX.
putbit:
	and $1, %eax
	add $'0', %al
	mov $0x3f8, %dx
	out %al, (%dx)
	ret

# puthex: writes the low ECX (1..16) hex digits of RAX, lowercase. Clobbers RAX, RBX, RCX, RDX, RSI.
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

hexdigits: .ascii "0123456789abcdef"
s_head:	.asciz "long: efer.lme="
s_lma:	.asciz " efer.lma="
s_pae:	.asciz " cr4.pae="
s_cs:	.asciz " cs="
s_l:	.asciz " cs.l="
s_rsp:	.asciz " rsp="
s_pde:	.asciz " pde(ffe00000)="
s_r8:	.asciz " r8="
