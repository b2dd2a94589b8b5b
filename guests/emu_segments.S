# emu_segments: descriptor checks of 32-bit protected mode: segment types (read-only data, execute-only and
# readable code), an expand-down limit, a page-granular limit, the null selector, SS's RPL, a CS limit on a
# far jump, the accessed bit, and 16-bit protected-mode code taking an INT through a 16-bit interrupt gate.
# (Writes to read-only segments and reads of execute-only code: emu_segment_types.S.)
# Build: buildFlat("emu_segments.S", 0x100000); run: tsvmm run --mode protected FILE (load 0x100000).
# GDT: 0x08 code and 0x10 data (flat, as tsvmm's), 0x18 read-only data, 0x20 execute-only code, 0x28
# readable code, 0x30 expand-down data (limit 0xfff: offsets 0x1000-0xffffffff), 0x38 data at 0x200000 with
# limit 0 and G=1 (offsets 0-0xfff), 0x40 code with limit 0xfff, 0x48 16-bit code at 0x100000 (limit
# 0xffff), 0x50 data with the accessed bit clear.
# Cases (vector / error code; failure code = exit value: base + 0 no fault, + 1 vector, + 2 error code,
# + 3 EIP):
#   xonly    mov %ax,%ds with AX = 0x20 (execute-only code)         #GP / 0x20    (0x05)
#   rcode    DS = 0x28: a read works (0x08)
#   expdown  ES = 0x30: offset 0x2000 works (0x0c), offset 0x800     #GP / 0       (0x0d)
#   gran     FS = 0x38: a dword at 0xffc works (0x10), at 0xffd      #GP / 0       (0x11)
#   null     ES = 0 loads; mov %es:0x1000,%eax                       #GP / 0       (0x15)
#   ssrpl    mov %ax,%ss with AX = 0x13 (RPL 3 at CPL 0)             #GP / 0x10    (0x19)
#   cslimit  ljmp $0x40,$0x2000 (past the limit)                     #GP / 0       (0x1d)
#   accessed loading GS = 0x50 sets the accessed bit in its descriptor (0x21)
#   cachedlimit  code run 60 times through the flat CS, then entered through CS 0x58 (base 0x100000, limit
#            its second byte): the third instruction is past the limit: #GP / 0, EIP its offset (0x29-0x2c)
#   int16    from 16-bit code (CS 0x48): int $0x30 through a 16-bit interrupt gate to a 16-bit handler: a
#            6-byte frame with IP after the int and CS 0x48 (0x25), then IRET back (0x26)
# Any other exception: 0x40 + vector.
# QEMU TCG 7.2 checks neither limits nor null selectors on access: expdown, gran and null fail there.
# Expected output on COM1: "segments: xonly rcode expdown gran null ssrpl cslimit accessed int16 cachedlimit ok\n"
# Exit: 0x3e to port 0xf4 (isa-debug-exit) -> status (0x3e<<1)|1 = 125.
	.code32
	.text
	.globl _start
	# the 16-bit code segment (0x48) has its base at the load address: offsets in it are `label - _start`
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
	movw $handler16 - _start, idt + 0x30 * 8	# vector 0x30: 16-bit interrupt gate into 0x48
	movw $0x48, idt + 0x30 * 8 + 2
	movw $0x8600, idt + 0x30 * 8 + 4
	movw $0, idt + 0x30 * 8 + 6
	lidt idt_desc

.macro EXC base, vec, err, insn:vararg
	movl $3f, r_resume
	mov %esp, r_esp
	movl $-2, r_vec
2:	\insn
	mov $0x10, %cx
	mov %cx, %ds
	mov %cx, %es
	mov %cx, %fs
	mov %cx, %gs
	mov $\base, %bl
	jmp fail
3:	mov $0x10, %cx
	mov %cx, %ds
	mov %cx, %es
	mov %cx, %fs
	mov %cx, %gs
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

	mov $0x20, %eax
	EXC 0x05, 13, 0x20, mov %ax, %ds
	mov $s_xonly, %esi
	call puts

	mov $0x28, %ax
	mov %ax, %ds
	mov magic, %edx			# through a readable code segment
	mov $0x10, %ax
	mov %ax, %ds
	mov $0x08, %bl
	cmp $0x5eed5eed, %edx
	jne fail
	mov $s_rcode, %esi
	call puts

	mov $0x30, %ax
	mov %ax, %es
	mov %es:0x2000, %eax
	mov $0x30, %ax
	mov %ax, %es
	EXC 0x0d, 13, 0, mov %es:0x800, %eax
	mov $s_expdown, %esi
	call puts

	mov $0x38, %ax
	mov %ax, %fs
	mov %fs:0xffc, %eax
	mov $0x38, %ax
	mov %ax, %fs
	EXC 0x11, 13, 0, mov %fs:0xffd, %eax
	mov $s_gran, %esi
	call puts

	xor %eax, %eax
	mov %ax, %es			# a null selector loads ...
	EXC 0x15, 13, 0, mov %es:0x1000, %eax	# ... but cannot be used
	mov $s_null, %esi
	call puts
	mov $0x13, %eax
	EXC 0x19, 13, 0x10, mov %ax, %ss
	mov $s_ssrpl, %esi
	call puts
	EXC 0x1d, 13, 0, ljmp $0x40, $0x2000
	mov $s_cslimit, %esi
	call puts

	mov $0x21, %bl
	testb $1, gdt + 0x50 + 5	# type bit 0: accessed
	jnz fail
	mov $0x50, %ax
	mov %ax, %gs
	testb $1, gdt + 0x50 + 5
	jz fail
	mov $0x10, %ax
	mov %ax, %gs
	mov $s_accessed, %esi
	call puts

	mov %esp, r_esp
	ljmp $0x48, $code16 - _start
	.code16
code16:
	mov %esp, %ebp			# the handler checks its frame against this
int16_at:
	int $0x30
after_int16:
	ljmpl $0x08, $back32
	.code32
back32:
	mov $0x25, %bl
	cmpw $after_int16 - _start, r16_ip
	jne fail
	cmpw $0x48, r16_cs
	jne fail
	mov $0x26, %bl
	cmpl $1, r16_count
	jne fail
	mov r_esp, %eax
	cmp %eax, %esp
	jne fail
	mov $s_int16, %esi
	call puts

	# code run often through the flat CS, then through CS 0x58 (base 0x100000, limit at lim_last): the
	# limit holds although the code was decoded before
	mov $60, %ecx
1:	call lim_code
	dec %ecx
	jnz 1b
	movl $3f, r_resume
	mov %esp, r_esp
	movl $-2, r_vec
	pushl $0x8000			# (were the limit missed, the ret would go there: a #GP at another EIP)
	ljmp $0x58, $lim_code - _start
3:	mov $0x29, %bl
	cmpl $-2, r_vec
	je fail
	mov $0x29 + 1, %bl
	cmpl $13, r_vec
	jne fail
	mov $0x29 + 2, %bl
	cmpl $0, r_err
	jne fail
	mov $0x29 + 3, %bl
	cmpl $lim_over - _start, r_eip
	jne fail
	mov $s_cachedlimit, %esi
	call puts

	mov $s_ok, %esi
	call puts
	mov $0x3e, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

	.balign 4096			# a page of its own: no data write nearby drops its decoded code
lim_code:
	nop
lim_last:
	nop				# the last byte inside CS 0x58's limit
lim_over:
	nop				# outside it: #GP(0) here
	ret
	.balign 4096
	.set LIM, lim_last - _start

	.code16
# handler16: a 16-bit interrupt gate's handler in 16-bit code. The frame is IP, CS, FLAGS (2 bytes each),
# 6 bytes below the interrupted ESP (SS is the 32-bit flat segment: ESP is the stack pointer).
handler16:
	mov (%esp), %ax
	mov $r16_ip, %ebx
	mov %ax, (%ebx)
	mov 2(%esp), %ax
	mov %ax, 2(%ebx)		# r16_cs
	lea 6(%esp), %eax
	cmp %eax, %ebp
	jne 1f
	incl 4(%ebx)			# r16_count
1:	iret
	.code32

# fail: prints " FAIL\n" and exits with the code in BL.
fail:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x7000, %esp
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
# r_resume with ESP = r_esp.
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
	pop %eax
	mov r_esp, %esp
	jmp *r_resume

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
	.quad 0x0040970000000fff	# 0x30: expand-down data, limit 0xfff, B=1
	.quad 0x00c0932000000000	# 0x38: data at 0x200000, limit 0 with G=1 (0xfff)
	.quad 0x0040990000000fff	# 0x40: 32-bit code, limit 0xfff
	.quad 0x00009b100000ffff	# 0x48: 16-bit code at 0x100000, limit 0xffff
	.quad 0x00cf92000000ffff	# 0x50: data, accessed bit clear
	.long LIM, 0x00409b10		# 0x58: 32-bit code at 0x100000, limit lim_last
gdt_end:
	.word 0
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
	.word 0
idt_desc:
	.word 0x31 * 8 - 1
	.long idt
	.balign 8
idt:
	.fill 0x31 * 8, 1, 0
magic:	.long 0x5eed5eed
r16_ip:	.word 0
r16_cs:	.word 0
r16_count: .long 0
r_resume: .long 0
r_esp:	.long 0
r_vec:	.long 0
r_err:	.long 0
r_eip:	.long 0
r_tmp:	.long 0
s_head:	.asciz "segments:"
s_xonly: .asciz " xonly"
s_rcode: .asciz " rcode"
s_expdown: .asciz " expdown"
s_gran:	.asciz " gran"
s_null:	.asciz " null"
s_ssrpl: .asciz " ssrpl"
s_cslimit: .asciz " cslimit"
s_accessed: .asciz " accessed"
s_int16: .asciz " int16"
s_cachedlimit: .asciz " cachedlimit"
s_ok:	.asciz " ok\n"
s_fail:	.asciz " FAIL\n"
