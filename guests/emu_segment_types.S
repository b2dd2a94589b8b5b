# emu_segment_types: the segment type checks on each access in 32-bit protected mode (SDM vol. 3, 5.5; MOV
# and the other instructions' #GP(0) "if the destination is located in a non-writable segment", "if a
# memory operand is read from an execute-only code segment"): a write through a read-only data segment, a
# write through a readable code segment, a read through CS when CS is execute-only.
# Build: buildFlat("emu_segment_types.S", 0x100000); run: tsvmm run --mode protected FILE (load 0x100000).
# GDT: 0x08 code and 0x10 data (flat, as tsvmm's), 0x18 read-only data, 0x20 execute-only code, 0x28
# readable code (all flat).
# Cases (each #GP(0) with the saved EIP at the access; failure code = exit value: base + 0 no fault,
# + 1 vector, + 2 error code, + 3 EIP):
#   ro      ES = 0x18: a read works, movl $1,%es:0x200000 faults                 (base 0x01)
#   rcode   FS = 0x28: a read works, a write faults                               (0x05)
#   xonly   CS = 0x20 (far jump): mov %cs:magic,%eax faults                       (0x09)
# Any other exception: 0x40 + vector.
# Expected output on COM1: "segment types: ro rcode xonly ok\n"
# Exit: 0x3f to port 0xf4 (isa-debug-exit) -> status (0x3f<<1)|1 = 127.
	.code32
	.text
	.globl _start
_start:
	cli
	mov $s_head, %esi
	call puts
	lgdt gdt_desc

	mov $idt, %edi
	mov $stubs, %edx
	xor %ecx, %ecx
1:	mov %edx, %eax
	mov %eax, r_tmp
	mov %ax, (%edi)
	movw $0x08, 2(%edi)
	movw $0x8e00, 4(%edi)
	mov r_tmp + 2, %ax
	mov %ax, 6(%edi)
	add $8, %edi
	add $16, %edx
	inc %ecx
	cmp $32, %ecx
	jne 1b
	lidt idt_desc

.macro EXC base, vec, err, insn:vararg
	movl $3f, r_resume
	mov %esp, r_esp
	movl $-2, r_vec
2:	\insn
	mov $0x10, %cx
	mov %cx, %ds
	mov %cx, %es
	mov $\base, %bl
	jmp fail
3:	mov $0x10, %cx
	mov %cx, %ds
	mov %cx, %es
	mov $\base + 1, %bl
	cmpl $\vec, r_vec
	jne fail
	mov $\base + 2, %bl
	cmpl $\err, r_err
	jne fail
	mov $\base + 3, %bl
	cmpl $2b, r_eip
	jne fail
.endm

	mov $0x18, %ax
	mov %ax, %es
	mov %es:0x200000, %eax
	EXC 0x01, 13, 0, movl $1, %es:0x200000
	mov $s_ro, %esi
	call puts

	mov $0x28, %ax
	mov %ax, %fs
	mov %fs:magic, %edx
	EXC 0x05, 13, 0, movl $1, %fs:magic
	mov $s_rcode, %esi
	call puts

	ljmp $0x20, $xonly		# execute-only CS
xonly:
	EXC 0x09, 13, 0, mov %cs:magic, %eax
	ljmp $0x08, $1f
1:	mov $s_xonly, %esi
	call puts

	mov $s_ok, %esi
	call puts
	mov $0x3f, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# fail: prints " FAIL\n" and exits with the code in BL.
fail:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
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

# common: makes DS and ES usable, records the vector, error code (-1: none) and EIP, and resumes at
# r_resume with ESP = r_esp (the resume code is reached through CS as it was).
common:
	push %eax
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	pop %eax
	popl r_vec
	popl r_err
	push %eax
	mov 4(%esp), %eax
	mov %eax, r_eip
	mov 8(%esp), %eax
	mov %eax, r_cs
	pop %eax
	mov r_esp, %esp
	ljmp *r_resume_far

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
	.quad 0x00cf91000000ffff	# 0x18: read-only data, flat
	.quad 0x00cf99000000ffff	# 0x20: execute-only code, flat
	.quad 0x00cf9b000000ffff	# 0x28: readable code, flat
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
magic:	.long 0x5eed5eed
r_resume_far:
r_resume: .long 0
	.word 0x08
r_esp:	.long 0
r_vec:	.long 0
r_err:	.long 0
r_eip:	.long 0
r_cs:	.long 0
r_tmp:	.long 0
s_head:	.asciz "segment types:"
s_ro:	.asciz " ro"
s_rcode: .asciz " rcode"
s_xonly: .asciz " xonly"
s_ok:	.asciz " ok\n"
s_fail:	.asciz " FAIL\n"
