# emu_ring3: trips from ring 0 to ring 3 and back in 64-bit mode: IRETQ down, an interrupt gate (DPL 3) up
# with the stack switch to TSS.RSP0, a #GP for a DPL-0 gate raised from ring 3, and SYSCALL/SYSRET.
# Build: buildFlat("emu_ring3.S", 0x100000); run: tsvmm run --mode long FILE (load 0x100000).
# The guest installs its own GDT (0x18 kernel code, 0x20 kernel data, 0x28 user code32, 0x30 user data,
# 0x38 user code64, 0x40 TSS with RSP0 = 0x7ff0), IDT (0-31, 0x80 with DPL 3, 0x81 with DPL 0) and sets
# U/S in tsvmm's page tables for the first 2 MiB (PML4[0], PDPT[0], PD[0]).
# Sequence and checks (failure code = exit value):
#   IRETQ to 0x3b:user with RSP 0x1f0000, RFLAGS 0x202... (IF stays 0: 0x002)
#   user: int $0x80 with RAX=1. Kernel: the frame holds RIP after the int (0x10), CS 0x3b (0x11),
#         RSP 0x1f0000 (0x12), SS 0x33 (0x13); the handler runs on RSP0 - 40 = 0x7fc8 (0x14), CS 0x18
#         (0x15), SS a null selector (0x16). It returns RAX=0x1234 with IRETQ.
#   user: RAX=0x1234 (0x28), CS=0x3b (0x29); int $0x81 (gate DPL 0 < CPL 3): #GP with error code
#         0x81*8+2 = 0x40a (IDT bit, EXT clear for INT n; QEMU TCG 7.2 reports 0x81*16+2) (0x18), frame RIP at the int (0x19), CS 0x3b
#         (0x1a); the #GP handler returns past it with RAX=0x5678 (0x2a).
#   user: STD, RAX=0x77, SYSCALL. Kernel (LSTAR): RCX = the user RIP after the syscall (0x20), R11 = the
#         user RFLAGS with DF (0x21), DF cleared by SFMASK (0x22), CS 0x18 (0x23), SS 0x20 (0x24), RAX
#         0x77 (0x25); SYSRETQ with RAX=0x99. User: CS 0x3b (0x2b), SS 0x33 (0x2c), DF back (0x2d),
#         RAX 0x99 (0x2e).
#   user: int $0x80 with RAX=2: the kernel ends the run. (A user-side failure: int $0x80 with RAX=3.)
# Any other exception: 0x40 + vector.
# Expected output on COM1: "ring 3: iretq int-gate #GP syscall/sysret ok\n"
# Exit: 0x37 to port 0xf4 (isa-debug-exit) -> status (0x37<<1)|1 = 111.
	.code64
	.text
	.globl _start
_start:
	cli
	lea s_head(%rip), %rsi
	call puts

	lea tss(%rip), %rax		# the TSS descriptor's base (below 4 GiB)
	mov %rax, r_tmp(%rip)
	mov r_tmp(%rip), %ax
	mov %ax, gdt + 0x40 + 2(%rip)
	mov r_tmp + 2(%rip), %al
	mov %al, gdt + 0x40 + 4(%rip)
	mov r_tmp + 3(%rip), %al
	mov %al, gdt + 0x40 + 7(%rip)
	movq $0x7ff0, tss + 4(%rip)	# RSP0
	lgdt gdt_desc(%rip)
	mov $0x40, %ax
	ltr %ax

	# IDT: 0-31 -> stubs + 16*v (13 -> gp_handler), 0x80 -> int80 (DPL 3), 0x81 -> stub81 (DPL 0)
	lea idt(%rip), %rdi
	lea stubs(%rip), %rdx
	xor %ecx, %ecx
1:	mov %rdx, %rax
	cmp $13, %ecx
	jne 2f
	lea gp_handler(%rip), %rax
2:	mov $0x8e00, %r8d
	call set_gate
	add $16, %rdx
	inc %ecx
	cmp $32, %ecx
	jne 1b
	mov $0x80, %ecx
	lea int80(%rip), %rax
	mov $0xee00, %r8d		# P, DPL 3, interrupt gate
	call set_gate
	mov $0x81, %ecx
	lea stub81(%rip), %rax
	mov $0x8e00, %r8d
	call set_gate
	lidt idt_desc(%rip)

	orq $4, 0x9000			# U/S on the walk to the first 2 MiB (tsvmm's tables)
	orq $4, 0xa000
	orq $4, 0xb000
	mov %cr3, %rax
	mov %rax, %cr3

	mov $0xc0000080, %ecx		# EFER.SCE
	rdmsr
	or $1, %eax
	wrmsr
	mov $0xc0000081, %ecx		# STAR: SYSCALL CS 0x18 (SS 0x20); SYSRET base 0x28 (CS 0x38, SS 0x30)
	xor %eax, %eax
	mov $0x00280018, %edx
	wrmsr
	mov $0xc0000082, %ecx		# LSTAR
	lea syscall_entry(%rip), %rax
	mov %rax, r_tmp(%rip)
	mov r_tmp + 4(%rip), %edx
	wrmsr
	mov $0xc0000084, %ecx		# SFMASK: DF
	mov $0x400, %eax
	xor %edx, %edx
	wrmsr

	mov %rsp, kernel_rsp(%rip)
	pushq $0x33			# SS
	pushq $0x1f0000			# RSP
	pushq $0x002			# RFLAGS
	pushq $0x3b			# CS
	lea user(%rip), %rax
	push %rax			# RIP
	iretq

# set_gate: IDT entry ECX -> handler RAX, type/DPL word R8W. Clobbers RAX, RDI.
set_gate:
	mov %ecx, %edi
	shl $4, %edi
	lea idt(%rip), %r9
	add %r9, %rdi
	mov %ax, (%rdi)
	movw $0x18, 2(%rdi)
	mov %r8w, 4(%rdi)
	shr $16, %rax
	mov %ax, 6(%rdi)
	shr $16, %rax
	mov %eax, 8(%rdi)
	movl $0, 12(%rdi)
	ret

# ---- ring 3 ----
.macro UFAIL code
	mov $\code, %ebx
	mov $3, %eax
	int $0x80
.endm
user:
	mov $1, %eax
	int $0x80
after_int:
	cmp $0x1234, %eax
	je 1f
	UFAIL 0x28
1:	mov %cs, %eax
	cmp $0x3b, %eax
	je 1f
	UFAIL 0x29
1:	xor %eax, %eax
user_int81:
	int $0x81
	cmp $0x5678, %eax
	je 1f
	UFAIL 0x2a
1:	std
	mov $0x77, %eax
	syscall
after_syscall:
	pushfq
	pop %rdx
	cld
	mov %cs, %ecx
	cmp $0x3b, %ecx
	je 1f
	UFAIL 0x2b
1:	mov %ss, %ecx
	cmp $0x33, %ecx
	je 1f
	UFAIL 0x2c
1:	test $0x400, %edx
	jnz 1f
	UFAIL 0x2d
1:	cmp $0x99, %eax
	je 1f
	UFAIL 0x2e
1:	mov $2, %eax
	int $0x80
	ud2

# ---- ring 0 ----
int80:
	cmp $3, %eax
	je fail				# a failure reported from ring 3 (code in BL)
	cmp $2, %eax
	je finish
	lea after_int(%rip), %rcx
	mov $0x10, %bl
	cmp %rcx, (%rsp)
	jne fail
	mov $0x11, %bl
	cmpq $0x3b, 8(%rsp)
	jne fail
	mov $0x12, %bl
	cmpq $0x1f0000, 24(%rsp)
	jne fail
	mov $0x13, %bl
	cmpq $0x33, 32(%rsp)
	jne fail
	mov $0x14, %bl
	cmp $0x7fc8, %rsp
	jne fail
	mov %cs, %ecx
	mov $0x15, %bl
	cmp $0x18, %ecx
	jne fail
	mov %ss, %ecx
	mov $0x16, %bl
	test $0xfffc, %ecx
	jnz fail
	mov $0x1234, %eax
	iretq

gp_handler:
	mov $0x18, %bl
	cmpq $0x40a, (%rsp)
	jne fail
	add $8, %rsp
	lea user_int81(%rip), %rcx
	mov $0x19, %bl
	cmp %rcx, (%rsp)
	jne fail
	mov $0x1a, %bl
	cmpq $0x3b, 8(%rsp)
	jne fail
	addq $2, (%rsp)			# past the int $0x81
	mov $0x5678, %eax
	iretq

syscall_entry:
	lea after_syscall(%rip), %rdx
	mov $0x20, %bl
	cmp %rdx, %rcx
	jne fail
	mov $0x21, %bl
	test $0x400, %r11d
	jz fail
	pushfq				# (on the user stack: SYSCALL keeps RSP)
	pop %rdx
	mov $0x22, %bl
	test $0x400, %edx
	jnz fail
	mov %cs, %edx
	mov $0x23, %bl
	cmp $0x18, %edx
	jne fail
	mov %ss, %edx
	mov $0x24, %bl
	cmp $0x20, %edx
	jne fail
	mov $0x25, %bl
	cmp $0x77, %eax
	jne fail
	mov $0x99, %eax
	sysretq

finish:
	mov kernel_rsp(%rip), %rsp
	lea s_ok(%rip), %rsi
	call puts
	mov $0x37, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# fail: prints " FAIL\n" and exits with the code in BL.
fail:
	mov $0x7000, %rsp
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

unexpected:
	pop %rbx
	add $0x40, %ebx
	jmp fail
stub81:
	pushq $0x81 - 0x40		# (delivered only if the DPL check failed to fire: code 0x81)
	jmp unexpected

	.balign 16
stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign 16
	pushq $\v
	jmp unexpected
	.endr

	.balign 16
gdt:
	.quad 0
	.quad 0x00cf9b000000ffff	# 0x08: 32-bit code
	.quad 0x00cf93000000ffff	# 0x10: data
	.quad 0x00af9b000000ffff	# 0x18: 64-bit code
	.quad 0x00cf93000000ffff	# 0x20: data (SYSCALL's SS)
	.quad 0x00cffb000000ffff	# 0x28: user 32-bit code (DPL 3)
	.quad 0x00cff3000000ffff	# 0x30: user data (DPL 3)
	.quad 0x00affb000000ffff	# 0x38: user 64-bit code (DPL 3)
	.quad 0x0000890000000067	# 0x40: 64-bit TSS (available), base filled in
	.quad 0
gdt_end:
	.word 0, 0, 0
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt
	.word 0, 0, 0
idt_desc:
	.word 0x82 * 16 - 1
	.quad idt
	.balign 16
tss:
	.fill 104, 1, 0
	.balign 16
idt:
	.fill 0x82 * 16, 1, 0
kernel_rsp: .quad 0
r_tmp:	.quad 0
s_head:	.asciz "ring 3:"
s_ok:	.asciz " iretq int-gate #GP syscall/sysret ok\n"
s_fail:	.asciz " FAIL\n"
