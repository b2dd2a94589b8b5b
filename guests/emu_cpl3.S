# emu_cpl3: what ring 3 may not do, in 64-bit mode. Each privileged instruction in a list, run at CPL 3 with
# IOPL 0, must raise #GP (the last, ud2, #UD) with the saved RIP at it and the expected error code; the
# handler then returns past it. The TSS's I/O bitmap lets ring 3 use port 0x80 and nothing else; SMSW, SGDT
# and POPF do not fault (POPF just cannot change IF or IOPL); with IOPL 3, CLI/STI and port I/O work.
# Build: buildFlat("emu_cpl3.S", 0x100000); run: tsvmm run --mode long FILE (load 0x100000).
# The list (item n failing exits with 0x10 + n: wrong RIP, vector or error code, or no fault):
#   hlt, cli, sti, in $0x81,%al, out %al,(%dx) (DX 0x3f8), mov %cr0,%rax, mov %rax,%cr3, mov %dr7,%rax,
#   mov %rax,%dr0, lgdt, lidt, lldt, ltr, rdmsr, wrmsr, invlpg, wbinvd, invd, clts, rdtsc and rdtscp (with
#   CR4.TSD), swapgs, sysretq, lmsw: #GP(0); mov %ax,%ds with AX 0x10 (a DPL-0 data segment): #GP(0x10);
#   ud2: #UD.
# Then at CPL 3 (codes): in $0x80,%al works (0x30), SMSW shows PE (0x31), SGDT stores the GDT limit (0x32),
# POPF leaves IF and IOPL as they were (0x33); the handler saw every item (0x34). With IOPL 3 (IRETQ with
# RFLAGS 0x3002): CLI, STI, in $0x81, out to 0x80 work (a fault there: 0x35).
# Any other exception: 0x40 + vector.
# Expected output on COM1: "cpl3: 26 faults, iomap smsw sgdt popf, iopl3 ok\n"
# Exit: 0x3d to port 0xf4 (isa-debug-exit) -> status (0x3d<<1)|1 = 123.
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
	movw $104, tss + 0x66(%rip)	# the I/O bitmap right after the 104-byte TSS
	lea iomap(%rip), %rdi		# every port denied but 0x80 (bit 0 of byte 0x10)
	mov $129, %ecx
1:	movb $0xff, (%rdi)
	inc %rdi
	dec %ecx
	jnz 1b
	movb $0xfe, iomap + 0x10(%rip)
	lgdt gdt_desc(%rip)
	mov $0x40, %ax
	ltr %ax

	lea idt(%rip), %rdi
	lea stubs(%rip), %rdx
	xor %ecx, %ecx
1:	mov %rdx, %rax
	cmp $13, %ecx
	je 3f
	cmp $6, %ecx
	jne 2f
3:	lea list_handler(%rip), %rax
	cmp $6, %ecx
	jne 2f
	lea ud_stub(%rip), %rax
2:	mov $0x8e00, %r8d
	call set_gate
	add $16, %rdx
	inc %ecx
	cmp $32, %ecx
	jne 1b
	mov $0x80, %ecx
	lea int80(%rip), %rax
	mov $0xee00, %r8d		# DPL 3
	call set_gate
	lidt idt_desc(%rip)

	orq $4, 0x9000			# U/S for the first 2 MiB in tsvmm's tables
	orq $4, 0xa000
	orq $4, 0xb000
	mov %cr3, %rax
	mov %rax, %cr3
	mov %cr4, %rax
	or $4, %eax			# CR4.TSD: RDTSC at CPL 3 faults
	mov %rax, %cr4
	mov $0xc0000080, %ecx		# EFER.SCE, so that SYSRET at CPL 3 is a #GP, not a #UD
	rdmsr
	or $1, %eax
	wrmsr

	mov %rsp, kernel_rsp(%rip)
	pushq $0x33
	pushq $0x1f0000
	pushq $0x002			# IOPL 0
	pushq $0x3b
	lea user(%rip), %rax
	push %rax
	iretq

# set_gate: IDT entry ECX -> handler RAX, type/DPL word R8W. Clobbers RAX, RDI, R9.
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
	mov $0x10, %eax
	mov $0x3f8, %edx
i0:	hlt
i1:	cli
i2:	sti
i3:	in $0x81, %al
i4:	out %al, (%dx)
i5:	mov %cr0, %rax
i6:	mov %rax, %cr3
i7:	mov %dr7, %rax
i8:	mov %rax, %dr0
i9:	lgdt gdt_desc(%rip)
i10:	lidt idt_desc(%rip)
i11:	lldt %ax
i12:	ltr %ax
i13:	rdmsr
i14:	wrmsr
i15:	invlpg (%rsp)
i16:	wbinvd
i17:	invd
i18:	clts
i19:	rdtsc
i20:	rdtscp
i21:	swapgs
i22:	sysretq
i23:	lmsw %ax
i24:	mov %ax, %ds
i25:	ud2
i26:
	in $0x80, %al			# allowed by the I/O bitmap
	mov $0, %eax
	smsw %eax
	test $1, %eax
	jnz 1f
	UFAIL 0x31
1:	sgdt user_gdtr(%rip)
	cmpw $gdt_end - gdt - 1, user_gdtr(%rip)
	je 1f
	UFAIL 0x32
1:	pushfq
	orq $0x3200, (%rsp)		# IF and IOPL 3: neither may change at CPL 3 with IOPL 0
	popfq
	pushfq
	pop %rax
	test $0x3200, %eax
	jz 1f
	UFAIL 0x33
1:	mov $2, %eax
	int $0x80

user_iopl3:
	cli
	sti
	cli
	in $0x81, %al
	out %al, $0x80
	mov $4, %eax
	int $0x80
	ud2

# ---- ring 0 ----
int80:
	cmp $3, %eax
	je fail
	cmp $2, %eax
	je phase2
	cmp $4, %eax
	je finish
	mov $0x4f, %bl
	jmp fail

phase2:
	mov $0x34, %bl
	cmpl $26, list_idx(%rip)
	jne fail
	movl $100, list_idx(%rip)	# from here no fault is expected
	mov kernel_rsp(%rip), %rsp
	pushq $0x33
	pushq $0x1f0000
	pushq $0x3002			# IOPL 3
	pushq $0x3b
	lea user_iopl3(%rip), %rax
	push %rax
	iretq

finish:
	mov kernel_rsp(%rip), %rsp
	lea s_ok(%rip), %rsi
	call puts
	mov $0x3d, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# #GP and (through ud_stub) #UD from the list: item list_idx must have faulted at its address with the
# expected vector and error code; the handler resumes at the next item.
ud_stub:
	pushq $-1			# #UD has no error code
	pushq $6
	jmp 1f
list_handler:
	pushq $13
1:	mov %rax, r_rax(%rip)
	mov %rcx, r_rcx(%rip)
	mov list_idx(%rip), %ecx
	mov $0x35, %bl
	cmp $100, %ecx
	jae fail
	lea 0x10(%rcx), %ebx		# the failure code for this item
	cmp $26, %ecx
	jae fail
	shl $4, %ecx
	lea table(%rip), %rax
	add %rax, %rcx			# RCX = the item's entry: start, next, vector, error code (4 bytes each)
	pop %rax
	cmp 8(%rcx), %eax
	jne fail
	pop %rax
	cmp 12(%rcx), %eax
	jne fail
	mov 0(%rcx), %eax
	cmp %rax, (%rsp)
	jne fail
	mov 4(%rcx), %eax
	mov %rax, (%rsp)		# resume at the next item
	incl list_idx(%rip)
	mov r_rax(%rip), %rax
	mov r_rcx(%rip), %rcx
	iretq

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

	.balign 16
stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign 16
	pushq $\v
	jmp unexpected
	.endr

	.balign 16
# start, next, vector, error code of each item
table:
	.long i0, i1, 13, 0
	.long i1, i2, 13, 0
	.long i2, i3, 13, 0
	.long i3, i4, 13, 0
	.long i4, i5, 13, 0
	.long i5, i6, 13, 0
	.long i6, i7, 13, 0
	.long i7, i8, 13, 0
	.long i8, i9, 13, 0
	.long i9, i10, 13, 0
	.long i10, i11, 13, 0
	.long i11, i12, 13, 0
	.long i12, i13, 13, 0
	.long i13, i14, 13, 0
	.long i14, i15, 13, 0
	.long i15, i16, 13, 0
	.long i16, i17, 13, 0
	.long i17, i18, 13, 0
	.long i18, i19, 13, 0
	.long i19, i20, 13, 0
	.long i20, i21, 13, 0
	.long i21, i22, 13, 0
	.long i22, i23, 13, 0
	.long i23, i24, 13, 0
	.long i24, i25, 13, 0x10
	.long i25, i26, 6, -1
list_idx: .long 0
	.balign 16
gdt:
	.quad 0
	.quad 0x00cf9b000000ffff	# 0x08: 32-bit code
	.quad 0x00cf93000000ffff	# 0x10: data (DPL 0)
	.quad 0x00af9b000000ffff	# 0x18: 64-bit code
	.quad 0x00cf93000000ffff	# 0x20: data
	.quad 0x00cffb000000ffff	# 0x28: user 32-bit code
	.quad 0x00cff3000000ffff	# 0x30: user data
	.quad 0x00affb000000ffff	# 0x38: user 64-bit code
	.quad 0x00008900000000e8	# 0x40: 64-bit TSS, limit 104 + 129 - 1 (the I/O bitmap and its end byte)
	.quad 0
gdt_end:
	.word 0, 0, 0
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt
	.word 0, 0, 0
idt_desc:
	.word 0x81 * 16 - 1
	.quad idt
	.balign 16
tss:
	.fill 104, 1, 0
iomap:
	.fill 129, 1, 0xff
	.balign 16
idt:
	.fill 0x81 * 16, 1, 0
user_gdtr: .fill 10, 1, 0
	.balign 8
kernel_rsp: .quad 0
r_tmp:	.quad 0
r_rax:	.quad 0
r_rcx:	.quad 0
s_head:	.asciz "cpl3:"
s_ok:	.asciz " 26 faults, iomap smsw sgdt popf, iopl3 ok\n"
s_fail:	.asciz " FAIL\n"
