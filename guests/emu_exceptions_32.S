# emu_exceptions_32: exceptions in 32-bit protected mode, delivered through 32-bit interrupt gates, each
# handler recording the vector, the error code, and the return CS:EIP from the frame.
# Build: buildFlat("emu_exceptions_32.S", 0x100000); run: tsvmm run --mode protected FILE (load 0x100000).
# The guest loads its own GDT (tsvmm's 0x08 code and 0x10 data, plus 0x18: a data segment marked not present,
# 0x20: a data segment at base 0x50000 with limit 0xfff) and IDT (vectors 0-31).
# Cases (vector / error code; the return EIP is the faulting instruction's unless said otherwise):
#   #DE   div %ebx with EBX=0                                      0 / -
#   #DE   idiv %ecx: EDX:EAX = -2^31, ECX = -1 (quotient 2^31)    0 / -
#   #UD   ud2; this handler returns with IRET past it              6 / -
#   #GP   mov %ax,%ds with AX=0x1000 (past the GDT limit)          13 / 0x1000
#   #GP   mov %ax,%ss with AX=0x08 (a code segment)                13 / 0x0008
#   #NP   mov %ax,%ds with AX=0x18 (not present)                   11 / 0x0018
#   #SS   mov %ax,%ss with AX=0x18 (not present)                   12 / 0x0018
#   #SS   SS=0x20 (limit 0xfff), mov 0xff0(%esp),%eax with ESP=0x800: offset 0x17f0 > limit   12 / 0
#   #NP   the #UD gate marked not present, then ud2: #UD is benign, so the #NP is delivered:
#         11 / 6*8+2+1 = 0x33 (IDT bit 1; EXT bit 0 set: the #NP arose delivering an earlier exception,
#         SDM vol. 3, 6.13; QEMU TCG leaves EXT clear here, Bochs and hardware set it)
#   #DF   the #GP gate marked not present, then the bad DS load: #GP, then #NP delivering it, both
#         contributory: #DF, 8 / 0 (the saved EIP is undefined for #DF: not checked)
# Failure codes (exit value): case base + 0 no exception, + 1 wrong vector, + 2 wrong error code, + 3 wrong
# CS:EIP; bases: #DE 0x01, #DE(idiv) 0x05, #UD 0x09, #GP 0x0d, #GP(SS) 0x11, #NP 0x15, #SS 0x19,
# #SS(limit) 0x1d, #NP(gate) 0x21, #DF 0x25.
# Expected output on COM1: "exceptions protected: #DE #DE #UD #GP #GP #NP #SS #SS #NP #DF ok\n"
# Exit: 0x33 to port 0xf4 (isa-debug-exit) -> status (0x33<<1)|1 = 103.
	.code32
	.text
	.globl _start
_start:
	cli
	mov $s_head, %esi
	call puts
	lgdt gdt_desc			# 0x08 and 0x10 as in tsvmm's GDT: CS, DS... stay valid

	# IDT: vector v -> stubs + 16*v, 32-bit interrupt gates, selector 0x08
	mov $idt, %edi
	mov $stubs, %edx
	xor %ecx, %ecx
1:	mov %edx, %eax
	mov %ax, (%edi)			# offset 15:0
	movw $0x08, 2(%edi)		# selector
	movw $0x8e00, 4(%edi)		# P, DPL 0, type 0xe: 32-bit interrupt gate
	mov %edx, r_tmp
	mov r_tmp + 2, %ax
	mov %ax, 6(%edi)		# offset 31:16
	add $8, %edi
	add $16, %edx
	inc %ecx
	cmp $32, %ecx
	jne 1b
	lidt idt_desc

# EXC base, vector, error, insn...: runs insn expecting `vector` with error code `error` (-1: none) and the
# frame's CS:EIP at insn.
.macro EXC base, vec, err, insn:vararg
	movl $3f, r_resume
	mov %esp, r_esp
	movl $-2, r_vec
2:	\insn
	mov $\base, %bl
	jmp fail
3:	mov r_esp, %esp
	mov $\base + 1, %bl
	cmpl $\vec, r_vec
	jne fail
	mov $\base + 2, %bl
	cmpl $\err, r_err
	jne fail
	mov $\base + 3, %bl
	cmpl $2b, r_eip
	jne fail
	cmpl $0x08, r_cs
	jne fail
.endm

	xor %ebx, %ebx
	mov $1, %eax
	xor %edx, %edx
	EXC 0x01, 0, -1, div %ebx
	mov $s_de, %esi
	call puts
	mov $0x80000000, %eax		# EDX:EAX = 0xffffffff_80000000 = -2^31; / -1 = 2^31 > 0x7fffffff
	mov $-1, %edx
	mov $-1, %ecx
	EXC 0x05, 0, -1, idiv %ecx
	mov $s_de, %esi
	call puts

	movl $-2, r_vec
	movl $2, r_skip			# the handler returns 2 bytes past the ud2
	movl $1f, r_resume		# (only if it does not return)
	mov %esp, r_esp
2:	ud2
	mov $0x09 + 1, %bl
	cmpl $6, r_vec
	jne fail
	mov $0x09 + 3, %bl
	cmpl $2b, r_eip
	jne fail
	jmp 3f
1:	mov $0x09, %bl
	jmp fail
3:	mov $s_ud, %esi
	call puts

	mov $0x1000, %eax
	EXC 0x0d, 13, 0x1000, mov %ax, %ds
	mov $s_gp, %esi
	call puts
	mov $0x08, %eax
	EXC 0x11, 13, 0x0008, mov %ax, %ss
	mov $s_gp, %esi
	call puts
	mov $0x18, %eax
	EXC 0x15, 11, 0x0018, mov %ax, %ds
	mov $s_np, %esi
	call puts
	mov $0x18, %eax
	EXC 0x19, 12, 0x0018, mov %ax, %ss
	mov $s_ss, %esi
	call puts
	movl $3f, r_resume
	mov %esp, r_esp
	movl $-2, r_vec
	mov $0x20, %ax
	mov %ax, %ss
	mov $0x800, %esp
2:	mov 0xff0(%esp), %eax
	mov $0x1d, %bl
	jmp fail
3:	mov $0x10, %cx
	mov %cx, %ss
	mov r_esp, %esp
	mov $0x1d + 1, %bl
	cmpl $12, r_vec
	jne fail
	mov $0x1d + 2, %bl
	cmpl $0, r_err
	jne fail
	mov $0x1d + 3, %bl
	cmpl $2b, r_eip
	jne fail
	mov $s_ss, %esi
	call puts

	andb $0x7f, idt + 6 * 8 + 5	# #UD gate: not present
	EXC 0x21, 11, 0x33, ud2
	orb $0x80, idt + 6 * 8 + 5
	mov $s_np, %esi
	call puts

	andb $0x7f, idt + 13 * 8 + 5	# #GP gate: not present
	movl $3f, r_resume
	mov %esp, r_esp
	movl $-2, r_vec
	mov $0x1000, %eax
	mov %ax, %ds
	mov $0x25, %bl
	jmp fail
3:	orb $0x80, idt + 13 * 8 + 5
	mov $0x25 + 1, %bl
	cmpl $8, r_vec
	jne fail
	mov $0x25 + 2, %bl
	cmpl $0, r_err
	jne fail
	mov $s_df, %esi
	call puts

	mov $s_ok, %esi
	call puts
	mov $0x33, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# fail: prints " FAIL\n" and exits with the code in BL.
fail:
	mov $s_fail, %esi
	call puts
	movzbl %bl, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# puts: writes the NUL-terminated string at ESI to COM1. Clobbers AL, DX, ESI.
puts:
	mov $0x3f8, %dx
1:	movb (%esi), %al
	test %al, %al
	jz 2f
	out %al, (%dx)
	inc %esi
	jmp 1b
2:	ret

# common: the stub pushed the vector over the error code (-1 pushed by the stub when the vector has none)
# and the frame (EIP, CS, EFLAGS). Records them; when r_skip is set, returns with IRET r_skip bytes further
# (once), else resumes at r_resume with ESP = r_esp (SS reloaded there).
common:
	popl r_vec
	popl r_err
	mov (%esp), %eax
	mov %eax, r_eip
	mov 4(%esp), %eax
	mov %eax, r_cs
	mov r_skip, %eax
	test %eax, %eax
	jz 1f
	movl $0, r_skip
	add %eax, (%esp)
	iret
1:	jmp *r_resume

	.balign 16
stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign 16
	.if (\v == 8) || (\v >= 10 && \v <= 14) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
	.else
	push $-1
	.endif
	push $\v
	jmp common
	.endr

	.balign 8
gdt:
	.quad 0
	.quad 0x00cf9b000000ffff	# 0x08: 32-bit code, flat
	.quad 0x00cf93000000ffff	# 0x10: data, flat
	.quad 0x00cf13000000ffff	# 0x18: data, not present
	.quad 0x0040930500000fff	# 0x20: data, base 0x50000, limit 0xfff
gdt_end:
	.word 0
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
	.word 0
idt_desc:
	.word 32 * 8 - 1
	.long idt
	.balign 8
idt:
	.fill 32 * 8, 1, 0
r_resume: .long 0
r_esp:	.long 0
r_vec:	.long 0
r_err:	.long 0
r_eip:	.long 0
r_cs:	.long 0
r_skip:	.long 0
r_tmp:	.long 0
s_head:	.asciz "exceptions protected:"
s_de:	.asciz " #DE"
s_ud:	.asciz " #UD"
s_gp:	.asciz " #GP"
s_np:	.asciz " #NP"
s_ss:	.asciz " #SS"
s_df:	.asciz " #DF"
s_ok:	.asciz " ok\n"
s_fail:	.asciz " FAIL\n"
