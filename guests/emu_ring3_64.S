# emu_ring3_64: privilege and mode changes in long mode, checked by the guest itself.
# Build: buildFlat("emu_ring3_64.S", 0x100000) (.code64: assembled with `as --64`);
# run: tsvmm run --mode long FILE (load 0x100000).
# The guest sets the U/S bit on the boot page tables covering its first 2 MiB, loads its own GDT (far JMP
# FF /5 m16:32 reloads CS), a 64-bit TSS (RSP0 and IST1) and a 16-byte-gate IDT, then:
#   1. far CALL m16:64 (REX.W FF /3) with RETFQ and m16:32 (FF /3) with RETF at CPL 0; MOV to/from DR0, DR6;
#   2. IRETQ to ring 3 (64-bit, CPL 3 checked), INT $0x80 through a DPL-3 gate to ring 0 (RSP0 from the TSS,
#      SS null, the frame checked) and IRETQ back;
#   3. SYSCALL to ring 0 (CS/SS from STAR, RCX and R11 checked) and SYSRETQ back to 64-bit ring 3;
#   4. CLI at CPL 3: #GP(0) delivered on the IST1 stack;
#   5. SYSRETL (no REX.W) to compatibility mode at CPL 3, INT $0x80 from there, IRETQ back to 64-bit mode;
#   6. RETFQ from ring 0 to ring 3 (outer privilege), which nulls DS holding a DPL-0 segment.
# Ring 3 reports through INT $0x80 (RAX = 0: done, 9: failure with the check's code in EBX).
# Expected output on COM1: "ring3_64: ok\n"; exit: outl 0x10 to port 0xf4 -> status 33.
# On failure: "ring3_64: FAIL xx\n" and outl 0x40 + xx.
	.code64
	.text
	.globl _start

	.set KCODE, 0x08
	.set KDATA, 0x10
	.set UCODE32, 0x1b
	.set UDATA, 0x23
	.set UCODE64, 0x2b
	.set TSSSEL, 0x30
	.set KSTACK, 0x7000		# RSP0
	.set ISTSTACK, 0x7800		# IST1
	.set USTACK, 0x6000

.macro KFAIL code
	mov $\code, %edi
	jmp fail
.endm
.macro UFAIL code
	mov $\code, %ebx
	mov $9, %eax
	int $0x80
.endm

_start:
	# Ring 3 may use the first 2 MiB: U/S in PML4[0], PDPT[0] and PD[0] of the boot tables.
	mov %cr3, %rax
	orl $4, (%rax)
	mov (%rax), %rbx
	and $-4096, %rbx
	orl $4, (%rbx)
	mov (%rbx), %rbx
	and $-4096, %rbx
	orl $4, (%rbx)
	mov %rax, %cr3

	lgdt gdt_desc
	ljmp *farptr_start		# FF /5 m16:32: CS from the new GDT
start2:
	mov $KDATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov $KSTACK, %esp
	mov %cs, %eax
	cmp $KCODE, %eax
	je 1f
	KFAIL 0x01

	# Far CALL m16:64 / RETFQ and m16:32 / RETF.
1:	xor %eax, %eax
	rex64 lcall *farptr64		# REX.W FF /3
	cmp $0x1234, %eax
	je 1f
	KFAIL 0x02
1:	xor %eax, %eax
	lcall *farptr32			# FF /3 m16:32: 4-byte CS and EIP pushed
	cmp $0x4321, %eax
	je 1f
	KFAIL 0x03
1:	cmp $KSTACK, %rsp
	je 1f
	KFAIL 0x04

	# Debug registers.
1:	mov $0x12345678, %eax
	mov %rax, %dr0
	mov %dr0, %rbx
	cmp %rax, %rbx
	je 1f
	KFAIL 0x05
1:	xor %eax, %eax
	mov %rax, %dr6
	mov %dr6, %rbx
	cmp $0xffff0ff0, %ebx
	je 1f
	KFAIL 0x06

	# TSS descriptor base (below 4 GiB), IDT gates.
1:	movl $tss, scratch
	mov scratch, %ax
	mov %ax, gdt + TSSSEL + 2
	mov scratch + 2, %ax
	mov %al, gdt + TSSSEL + 4
	mov %ah, gdt + TSSSEL + 7
	mov $13, %ecx
	mov $gp_handler, %eax
	mov $0x8e01, %edx		# interrupt gate, DPL 0, IST1
	call set_gate
	mov $0x80, %ecx
	mov $int80_handler, %eax
	mov $0xee00, %edx		# interrupt gate, DPL 3
	call set_gate
	lidt idt_desc
	mov $TSSSEL, %eax
	ltr %ax
	str %eax
	cmp $TSSSEL, %eax
	je 1f
	KFAIL 0x07
1:	movb gdt + TSSSEL + 5, %al
	and $0xf, %al
	cmp $0xb, %al			# busy
	je 1f
	KFAIL 0x08

	# SYSCALL: EFER.SCE, STAR (kernel CS 0x08; user base 0x18: CS32 0x1b, SS 0x23, CS64 0x2b), LSTAR, FMASK.
1:	mov $0xc0000080, %ecx
	rdmsr
	or $1, %eax
	wrmsr
	mov $0xc0000081, %ecx
	xor %eax, %eax
	mov $0x00180008, %edx
	wrmsr
	mov $0xc0000082, %ecx
	mov $syscall_entry, %eax
	xor %edx, %edx
	wrmsr
	mov $0xc0000084, %ecx
	mov $0x200, %eax		# IF
	wrmsr

	# To 64-bit ring 3 with IRETQ.
	push $UDATA
	push $USTACK
	pushfq
	push $UCODE64
	push $user
	iretq

# ---- ring 3, 64-bit ----
user:
	mov %cs, %eax
	cmp $UCODE64, %eax
	je 1f
	UFAIL 0x10
1:	mov %ss, %eax
	cmp $UDATA, %eax
	je 1f
	UFAIL 0x11

	# INT $0x80 and IRETQ back.
1:	mov $1, %eax
	int $0x80
	cmp $0xcafe, %eax
	je 1f
	UFAIL 0x12
1:	cmp $USTACK, %rsp
	je 1f
	UFAIL 0x13
1:	mov %cs, %eax
	and $3, %eax
	cmp $3, %eax
	je 1f
	UFAIL 0x14

	# SYSCALL / SYSRETQ.
1:	mov $2, %eax
	syscall
after_syscall:
	cmp $0xbeef, %eax
	je 1f
	UFAIL 0x15
1:	mov %cs, %eax
	cmp $UCODE64, %eax
	je 1f
	UFAIL 0x16
1:	mov %ss, %eax
	cmp $UDATA, %eax
	je 1f
	UFAIL 0x17

	# CLI at CPL 3: #GP on the IST1 stack, skipped by the handler.
1:	cli
	mov $3, %eax
	int $0x80
	cmp $1, %eax
	je 1f
	UFAIL 0x18

	# SYSRETL to compatibility mode (SYSCALL with RAX = 4).
1:	mov $4, %eax
	syscall
	UFAIL 0x19			# not reached: SYSRETL goes to compat

	.code32
compat:
	mov %cs, %eax
	cmp $UCODE32, %eax
	je 1f
	UFAIL 0x1a
1:	mov %ss, %eax
	cmp $UDATA, %eax
	je 1f
	UFAIL 0x1b
1:	mov $6, %eax
	int $0x80			# the handler returns to back64 in 64-bit mode
	UFAIL 0x1c
	.code64

back64:
	mov %cs, %eax
	cmp $UCODE64, %eax
	je 1f
	UFAIL 0x1d
	# RETFQ from ring 0 to ring 3 (INT $0x80 with RAX = 5), nulling DS.
1:	mov $5, %eax
	int $0x80
	mov %ds, %eax
	test %eax, %eax
	jz 1f
	UFAIL 0x1e
1:	mov %cs, %eax
	cmp $UCODE64, %eax
	je 1f
	UFAIL 0x1f

1:	xor %eax, %eax
	int $0x80
2:	jmp 2b

# ---- ring 0 ----
farfn64:
	mov $0x1234, %eax
	lretq
farfn32:
	mov $0x4321, %eax
	lretl				# 4-byte EIP and CS

# INT $0x80: RAX = 0 done, 1 return 0xcafe, 3 the #GP count, 5 RETFQ to ring 3, 6 from compat to 64-bit,
# 9 failure (code in EBX).
int80_handler:
	mov %cs, %edx
	cmp $KCODE, %edx
	je 1f
	KFAIL 0x20
1:	mov %ss, %edx			# null with RPL 0 after a privilege change in IA-32e mode
	test %edx, %edx
	jz 1f
	KFAIL 0x21
1:	cmp $KSTACK - 40, %rsp		# RIP, CS, RFLAGS, RSP, SS on RSP0
	je 1f
	KFAIL 0x22
1:	mov 8(%rsp), %rdx
	and $3, %edx
	cmp $3, %edx
	je 1f
	KFAIL 0x23
1:	cmpq $UDATA, 32(%rsp)
	je 1f
	KFAIL 0x24
1:	cmp $9, %eax
	jne 1f
	mov %ebx, %edi
	jmp fail
1:	test %eax, %eax
	jz done
	cmp $1, %eax
	jne 1f
	cmpq $UCODE64, 8(%rsp)
	jne 8f
	mov $0xcafe, %eax
	iretq
1:	cmp $3, %eax
	jne 1f
	mov gp_count, %eax
	iretq
1:	cmp $5, %eax
	jne 1f
	# The frame as a far return: RIP, CS, then RSP, SS (RFLAGS dropped).
	mov 0(%rsp), %rax
	mov 8(%rsp), %rbx
	add $24, %rsp
	push %rbx
	push %rax
	mov $KDATA, %eax
	mov %eax, %ds			# DPL 0: the return to CPL 3 nulls it
	lretq
1:	cmp $6, %eax
	jne 1f
	cmpq $UCODE32, 8(%rsp)		# from compatibility mode
	jne 8f
	cmpl $USTACK, 24(%rsp)
	jne 8f
	movq $back64, 0(%rsp)
	movq $UCODE64, 8(%rsp)
	iretq
1:	KFAIL 0x25
8:	KFAIL 0x26

# SYSCALL: CPL 0 with CS = STAR[47:32], SS = +8, RCX = the return RIP, R11 = RFLAGS; RSP unchanged.
syscall_entry:
	mov %cs, %edx
	cmp $KCODE, %edx
	je 1f
	KFAIL 0x30
1:	mov %ss, %edx
	cmp $KDATA, %edx
	je 1f
	KFAIL 0x31
1:	cmp $USTACK, %rsp
	je 1f
	KFAIL 0x32
1:	test $2, %r11d			# RFLAGS' fixed bit 1
	jnz 1f
	KFAIL 0x33
1:	cmp $4, %eax
	je 2f
	lea after_syscall(%rip), %rdx
	cmp %rdx, %rcx
	je 1f
	KFAIL 0x34
1:	mov $0xbeef, %eax
	sysretq
2:	mov $compat, %ecx
	sysretl				# to compatibility mode, CS = STAR[63:48]

# #GP from ring 3 (error code 0) on the IST1 stack: skips the one-byte instruction.
gp_handler:
	cmp $ISTSTACK - 48, %rsp
	je 1f
	KFAIL 0x40
1:	cmpq $0, 0(%rsp)
	je 1f
	KFAIL 0x41
1:	cmpq $UCODE64, 16(%rsp)
	je 1f
	KFAIL 0x42
1:	incl gp_count
	addq $1, 8(%rsp)
	add $8, %rsp
	iretq

# set_gate: IDT[ECX] = 64-bit gate to EAX (below 4 GiB, selector KCODE) with type/IST word EDX.
set_gate:
	add %ecx, %ecx
	lea idt(,%rcx,8), %rbx		# 16 bytes a gate
	mov %eax, scratch
	mov %ax, (%rbx)
	movw $KCODE, 2(%rbx)
	mov %dx, 4(%rbx)
	mov scratch + 2, %ax
	mov %ax, 6(%rbx)
	movq $0, 8(%rbx)
	ret

fail:
	mov $s_fail, %esi
	call puts
	mov %edi, %eax
	call puthex2
	mov $s_nl, %esi
	call puts
	mov %edi, %eax
	add $0x40, %eax
	mov $0xf4, %dx
	out %eax, (%dx)
1:	hlt
	jmp 1b

done:
	mov $s_ok, %esi
	call puts
	mov $0x10, %eax
	mov $0xf4, %dx
	out %eax, (%dx)
1:	hlt
	jmp 1b

# puts: the NUL-terminated string at RSI to COM1.
puts:
	mov $0x3f8, %dx
1:	movb (%rsi), %al
	inc %rsi
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	ret

# puthex2: the low byte of EAX as two hex digits.
puthex2:
	and $0xff, %eax
	xor %ecx, %ecx
1:	cmp $16, %eax
	jb 2f
	sub $16, %eax
	inc %ecx
	jmp 1b
2:	mov %eax, %ebx
	movb hexdigits(%ecx), %al
	mov $0x3f8, %dx
	out %al, (%dx)
	movb hexdigits(%ebx), %al
	out %al, (%dx)
	ret

	.balign 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	# 0x08 ring-0 64-bit code
	.quad 0x00cf92000000ffff	# 0x10 ring-0 data
	.quad 0x00cffa000000ffff	# 0x18 ring-3 32-bit code (compatibility mode)
	.quad 0x00cff2000000ffff	# 0x20 ring-3 data
	.quad 0x00affa000000ffff	# 0x28 ring-3 64-bit code
	.quad 0x0000890000000067	# 0x30 64-bit TSS, low half (base filled in)
	.quad 0				# 0x38 its high half
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.balign 16
idt:
	.fill 512, 8, 0			# 256 gates of 16 bytes
idt_desc:
	.word 256 * 16 - 1
	.quad idt

farptr_start:
	.long start2
	.word KCODE
farptr64:
	.quad farfn64
	.word KCODE
farptr32:
	.long farfn32
	.word KCODE

gp_count:
	.long 0
scratch:
	.long 0

	.balign 16
tss:
	.long 0
	.quad KSTACK			# RSP0
	.quad 0, 0			# RSP1, RSP2
	.quad 0				# reserved
	.quad ISTSTACK			# IST1
	.fill 6, 8, 0			# IST2-7
	.quad 0
	.word 0
	.word 104			# no I/O bitmap

hexdigits: .ascii "0123456789abcdef"
s_ok:	.asciz "ring3_64: ok\n"
s_fail:	.asciz "ring3_64: FAIL "
s_nl:	.asciz "\n"
