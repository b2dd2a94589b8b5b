# emu_exceptions_64: exceptions in 64-bit mode, delivered through 64-bit interrupt gates (one with an IST
# stack), each handler recording the vector, the error code, and the frame's RIP, CS and RSP.
# Build: buildFlat("emu_exceptions_64.S", 0x100000); run: tsvmm run --mode long FILE (load 0x100000).
# The guest loads its own GDT (tsvmm's 0x08, 0x10 and 0x18, plus 0x20: a data segment marked not present,
# 0x28: a 64-bit TSS whose IST1 is df_stack_top), IDT (vectors 0-31, #DF on IST1) and task register.
# Cases (vector / error code; the frame's RIP is the faulting instruction's, its CS 0x18 and its RSP the
# RSP at the fault, unless said otherwise):
#   #DE   div %rbx with RBX=0                                            0 / -
#   #DE   idiv %rcx: RDX:RAX = -2^63, RCX = -1 (quotient 2^63)          0 / -
#   #UD   ud2; this handler returns with IRETQ past it                   6 / -
#   #GP   mov %ax,%ds with AX=0x1000 (past the GDT limit)                13 / 0x1000
#   #GP   mov (%rax),%rbx with RAX=0x0000800000000000 (not canonical)    13 / 0
#   #NP   mov %ax,%ds with AX=0x20 (not present)                         11 / 0x0020
#   #SS   mov %ax,%ss with AX=0x20 (not present)                         12 / 0x0020
#   #SS   mov (%rbp),%rax with RBP=0x0000800000000000 (SS-relative, not canonical)   12 / 0
#   #NP   the #UD gate marked not present, then ud2: 11 / 6*8+2+1 = 0x33 (the index field is the vector
#         even with 16-byte gates; IDT bit and EXT: the #NP arose delivering an exception. QEMU TCG 7.2
#         reports 6*16+2 = 0x62 here, and #GP instead of #SS for the non-canonical SS-relative access)
#   #GP   jmp *%rax to 0x0000800000000000 (not canonical): the jump itself faults,   13 / 0
#         the saved RIP is the jmp's (SDM JMP; QEMU TCG 7.2 saves the non-canonical target instead)
#   #DF   the #GP gate marked not present, then the bad DS load: #GP, then #NP delivering it, both
#         contributory: #DF, 8 / 0, delivered on the IST1 stack (the frame's RSP there is df_stack_top -
#         40; the saved RIP is undefined for #DF: not checked)
# Failure codes (exit value): case base + 0 no exception, + 1 wrong vector, + 2 wrong error code, + 3 wrong
# RIP, CS, RSP or stack; bases: #DE 0x01, #DE(idiv) 0x05, #UD 0x09, #GP 0x0d, #GP(canonical) 0x11,
# #NP 0x15, #SS 0x19, #SS(canonical) 0x1d, #NP(gate) 0x21, #DF 0x25, #GP(jump) 0x29.
# Expected output on COM1: "exceptions long: #DE #DE #UD #GP #GP #NP #SS #SS #NP #GP #DF ok\n"
# Exit: 0x34 to port 0xf4 (isa-debug-exit) -> status (0x34<<1)|1 = 105.
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
	mov %ax, gdt + 0x28 + 2(%rip)
	mov r_tmp + 2(%rip), %al
	mov %al, gdt + 0x28 + 4(%rip)
	mov r_tmp + 3(%rip), %al
	mov %al, gdt + 0x28 + 7(%rip)
	lea df_stack_top(%rip), %rax
	mov %rax, tss + 0x24(%rip)	# IST1
	lgdt gdt_desc(%rip)		# 0x10 and 0x18 as in tsvmm's GDT: CS, SS... stay valid
	mov $0x28, %ax
	ltr %ax

	# IDT: vector v -> stubs + 16*v, 64-bit interrupt gates, selector 0x18
	lea idt(%rip), %rdi
	lea stubs(%rip), %rdx
	xor %ecx, %ecx
1:	mov %rdx, r_tmp(%rip)
	mov %dx, (%rdi)			# offset 15:0
	movw $0x18, 2(%rdi)		# selector
	movw $0x8e00, 4(%rdi)		# P, DPL 0, type 0xe, IST 0
	mov r_tmp + 2(%rip), %ax
	mov %ax, 6(%rdi)		# offset 31:16
	mov r_tmp + 4(%rip), %eax
	mov %eax, 8(%rdi)		# offset 63:32
	movl $0, 12(%rdi)
	add $16, %rdi
	add $16, %rdx
	inc %ecx
	cmp $32, %ecx
	jne 1b
	movb $1, idt + 8 * 16 + 4(%rip)	# #DF: IST1
	lidt idt_desc(%rip)

# EXC base, vector, error, insn...: runs insn expecting `vector` with error code `error` (-1: none), the
# frame's RIP at insn, CS 0x18 and RSP as it was.
.macro EXC base, vec, err, insn:vararg
	movq $3f, r_resume(%rip)
	mov %rsp, r_rsp(%rip)
	movq $-2, r_vec(%rip)
2:	\insn
	mov $\base, %bl
	jmp fail
3:	mov $\base + 1, %bl
	cmpq $\vec, r_vec(%rip)
	jne fail
	mov $\base + 2, %bl
	cmpq $\err, r_err(%rip)
	jne fail
	mov $\base + 3, %bl
	cmpq $2b, r_rip(%rip)
	jne fail
	cmpq $0x18, r_cs(%rip)
	jne fail
	cmp %rsp, r_frsp(%rip)
	jne fail
.endm

	xor %ebx, %ebx
	mov $1, %eax
	xor %edx, %edx
	EXC 0x01, 0, -1, div %rbx
	lea s_de(%rip), %rsi
	call puts
	movabs $0x8000000000000000, %rax	# RDX:RAX = -2^63; / -1 = 2^63 > 0x7fffffffffffffff
	mov $-1, %rdx
	mov $-1, %rcx
	EXC 0x05, 0, -1, idiv %rcx
	lea s_de(%rip), %rsi
	call puts

	movq $-2, r_vec(%rip)
	movq $2, r_skip(%rip)		# the handler returns 2 bytes past the ud2
	movq $1f, r_resume(%rip)	# (only if it does not return)
	mov %rsp, r_rsp(%rip)
2:	ud2
	mov $0x09 + 1, %bl
	cmpq $6, r_vec(%rip)
	jne fail
	mov $0x09 + 3, %bl
	cmpq $2b, r_rip(%rip)
	jne fail
	jmp 3f
1:	mov $0x09, %bl
	jmp fail
3:	lea s_ud(%rip), %rsi
	call puts

	mov $0x1000, %eax
	EXC 0x0d, 13, 0x1000, mov %ax, %ds
	lea s_gp(%rip), %rsi
	call puts
	movabs $0x0000800000000000, %rax
	EXC 0x11, 13, 0, mov (%rax), %rbx
	lea s_gp(%rip), %rsi
	call puts
	mov $0x20, %eax
	EXC 0x15, 11, 0x0020, mov %ax, %ds
	lea s_np(%rip), %rsi
	call puts
	mov $0x20, %eax
	EXC 0x19, 12, 0x0020, mov %ax, %ss
	lea s_ss(%rip), %rsi
	call puts
	movabs $0x0000800000000000, %rbp
	EXC 0x1d, 12, 0, mov (%rbp), %rax
	lea s_ss(%rip), %rsi
	call puts

	andb $0x7f, idt + 6 * 16 + 5(%rip)	# #UD gate: not present
	EXC 0x21, 11, 0x33, ud2
	orb $0x80, idt + 6 * 16 + 5(%rip)
	lea s_np(%rip), %rsi
	call puts

	movabs $0x0000800000000000, %rax
	EXC 0x29, 13, 0, jmp *%rax
	lea s_gp(%rip), %rsi
	call puts

	andb $0x7f, idt + 13 * 16 + 5(%rip)	# #GP gate: not present
	movq $3f, r_resume(%rip)
	mov %rsp, r_rsp(%rip)
	movq $-2, r_vec(%rip)
	mov $0x1000, %eax
	mov %ax, %ds
	mov $0x25, %bl
	jmp fail
3:	orb $0x80, idt + 13 * 16 + 5(%rip)
	mov $0x25 + 1, %bl
	cmpq $8, r_vec(%rip)
	jne fail
	mov $0x25 + 2, %bl
	cmpq $0, r_err(%rip)
	jne fail
	mov $0x25 + 3, %bl
	lea df_stack_top - 40(%rip), %rax
	cmp %rax, r_hrsp(%rip)
	jne fail
	lea s_df(%rip), %rsi
	call puts

	lea s_ok(%rip), %rsi
	call puts
	mov $0x34, %eax
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

# common: the stub pushed the vector over the error code (-1 pushed by the stub when the vector has none)
# and the frame (RIP, CS, RFLAGS, RSP, SS). Records them and where the frame is; when r_skip is set, returns
# with IRETQ r_skip bytes further (once), else resumes at r_resume with RSP = r_rsp.
common:
	popq r_vec(%rip)
	popq r_err(%rip)
	mov %rsp, r_hrsp(%rip)
	mov (%rsp), %rax
	mov %rax, r_rip(%rip)
	mov 8(%rsp), %rax
	mov %rax, r_cs(%rip)
	mov 24(%rsp), %rax
	mov %rax, r_frsp(%rip)
	mov r_skip(%rip), %rax
	test %rax, %rax
	jz 1f
	movq $0, r_skip(%rip)
	add %rax, (%rsp)
	iretq
1:	mov r_rsp(%rip), %rsp
	jmp *r_resume(%rip)

	.balign 16
stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign 16
	.if (\v == 8) || (\v >= 10 && \v <= 14) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
	.else
	pushq $-1
	.endif
	pushq $\v
	jmp common
	.endr

	.balign 16
gdt:
	.quad 0
	.quad 0x00cf9b000000ffff	# 0x08: 32-bit code
	.quad 0x00cf93000000ffff	# 0x10: data
	.quad 0x00af9b000000ffff	# 0x18: 64-bit code
	.quad 0x00cf13000000ffff	# 0x20: data, not present
	.quad 0x0000890000000067	# 0x28: 64-bit TSS (available), base filled in
	.quad 0
gdt_end:
	.word 0, 0, 0
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt
	.word 0, 0, 0
idt_desc:
	.word 32 * 16 - 1
	.quad idt
	.balign 16
tss:
	.fill 104, 1, 0
	.balign 16
idt:
	.fill 32 * 16, 1, 0
	.balign 16
df_stack:
	.fill 512, 1, 0
df_stack_top:
r_resume: .quad 0
r_rsp:	.quad 0
r_vec:	.quad 0
r_err:	.quad 0
r_rip:	.quad 0
r_cs:	.quad 0
r_frsp:	.quad 0
r_hrsp:	.quad 0
r_skip:	.quad 0
r_tmp:	.quad 0
s_head:	.asciz "exceptions long:"
s_de:	.asciz " #DE"
s_ud:	.asciz " #UD"
s_gp:	.asciz " #GP"
s_np:	.asciz " #NP"
s_ss:	.asciz " #SS"
s_df:	.asciz " #DF"
s_ok:	.asciz " ok\n"
s_fail:	.asciz " FAIL\n"
