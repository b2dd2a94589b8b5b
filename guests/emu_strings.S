# emu_strings: REP string instructions in 64-bit mode: restarted after a #PF in the middle (the registers at
# the fault show the iterations done; the handler maps the page and IRETQ re-runs the rest), backwards with
# DF, REPE CMPSB and REPNE SCASB stopping with their flags, a count of zero, the 32-bit address size, and an
# overlapping copy that must go one element at a time.
# Build: buildFlat("emu_strings.S", 0x100000); run: tsvmm run --mode long FILE (load 0x100000).
# Page tables of its own: PML4 0x200000, PDPT 0x201000, PD 0x202000 (2 MiB pages but for 0x200000-0x3fffff),
# PT 0x203000 (4 KiB pages, identity, 0x301000 and 0x302000 not present at first). The #PF handler records
# CR2, the error code, RIP, RCX, RSI and RDI, makes the page present and returns.
# Cases (failure code = exit value):
#   movsb    rep movsb of 0x1000 bytes 0x280000 -> 0x300800: #PF at CR2 0x301000, error 2, RIP the movsb, with
#            RCX 0x800, RSI 0x280800, RDI 0x301000 (0x01-0x03); afterwards RCX 0, RSI 0x281000, RDI 0x301800
#            (0x04) and the bytes copied (0x05)
#   stosq    DF=1, rep stosq of 64 qwords from RDI 0x3030f8 down: #PF at 0x302ff8 with RCX 32 (0x06-0x07);
#            afterwards RCX 0, RDI 0x3030f8 - 64*8 = 0x302ef8 (0x08), 0x302f00 written, 0x302ef8 not (0x09)
#   cmpsb    repe cmpsb, 13 bytes, "abcdefghijXYZ" vs "abcdefghijQYZ": stops after the 11th: RCX 2, RSI and RDI
#            + 11 (0x0a), ZF clear, 'X' - 'Q' = 7: no CF/SF/OF (0x0b)
#   scasb    repne scasb for 'g' in "abcdefghij" (RCX 10): stops after the 7th: RCX 3, RDI + 7, ZF (0x0c)
#   zero     rep movsb with RCX 0: RSI, RDI and the flags unchanged (0x0d)
#   addr32   addr32 rep stosb with RCX 0xffffffff00000004, RDI 0xffffffff00300000: ECX and EDI are used: four
#            bytes at 0x300000; RCX 0, RDI 0x300004 (32-bit writes zero the upper halves) (0x0e)
#   overlap  rep movsb from buf to buf + 1, 8 bytes, buf[0] = 'A': every byte becomes 'A' (0x0f)
# Any other exception: 0x40 + vector.
# Expected output on COM1: "strings: movsb stosq cmpsb scasb zero addr32 overlap ok\n"
# Exit: 0x3c to port 0xf4 (isa-debug-exit) -> status (0x3c<<1)|1 = 121.
	.code64
	.text
	.globl _start
_start:
	cli
	cld
	lea s_head(%rip), %rsi
	call puts

	lea idt(%rip), %rdi
	lea stubs(%rip), %rdx
	xor %ecx, %ecx
1:	mov %rdx, %rax
	cmp $14, %ecx
	jne 2f
	lea pf_handler(%rip), %rax
2:	mov %rax, r_tmp(%rip)
	mov %ax, (%rdi)
	movw $0x18, 2(%rdi)
	movw $0x8e00, 4(%rdi)
	mov r_tmp + 2(%rip), %ax
	mov %ax, 6(%rdi)
	mov r_tmp + 4(%rip), %eax
	mov %eax, 8(%rdi)
	movl $0, 12(%rdi)
	add $16, %rdi
	add $16, %rdx
	inc %ecx
	cmp $32, %ecx
	jne 1b
	lidt idt_desc(%rip)

	mov $0x200000, %edi
	mov $0x800, %ecx
1:	movq $0, (%rdi)
	add $8, %rdi
	dec %ecx
	jnz 1b
	movq $0x201003, 0x200000
	movq $0x202003, 0x201000
	xor %ecx, %ecx			# PD: 2 MiB pages, PD[1] -> PT
1:	mov %ecx, %eax
	imul $0x200000, %eax, %eax
	or $0x83, %eax
	mov %rax, 0x202000(,%rcx,8)
	inc %ecx
	cmp $512, %ecx
	jne 1b
	movq $0x203003, 0x202008
	xor %ecx, %ecx
1:	mov %ecx, %eax
	imul $0x1000, %eax, %eax
	add $0x200003, %eax
	mov %rax, 0x203000(,%rcx,8)
	inc %ecx
	cmp $512, %ecx
	jne 1b
	movq $0, 0x203000 + 0x101 * 8	# 0x301000
	movq $0, 0x203000 + 0x102 * 8	# 0x302000
	mov $0x200000, %eax
	mov %rax, %cr3

	mov $0x280000, %edi		# the source: byte i = (i ^ 0x5a) & 0xff
	xor %ecx, %ecx
1:	mov %ecx, %eax
	xor $0x5a, %eax
	mov %al, (%rdi,%rcx)
	inc %ecx
	cmp $0x1000, %ecx
	jne 1b

	# ---- movsb restarted ----
	mov $0x1000, %ecx
	mov $0x280000, %esi
	mov $0x300800, %edi
movsb_at:
	rep movsb
	mov $0x01, %bl
	cmpq $0x301000, pf_cr2(%rip)
	jne fail
	cmpq $2, pf_err(%rip)
	jne fail
	mov $0x02, %bl
	lea movsb_at(%rip), %rax
	cmp %rax, pf_rip(%rip)
	jne fail
	mov $0x03, %bl
	cmpq $0x800, pf_rcx(%rip)
	jne fail
	cmpq $0x280800, pf_rsi(%rip)
	jne fail
	cmpq $0x301000, pf_rdi(%rip)
	jne fail
	mov $0x04, %bl
	test %rcx, %rcx
	jnz fail
	cmp $0x281000, %rsi
	jne fail
	cmp $0x301800, %rdi
	jne fail
	mov $0x05, %bl
	xor %ecx, %ecx
1:	mov 0x280000(%rcx), %al
	cmp %al, 0x300800(%rcx)
	jne fail
	inc %ecx
	cmp $0x1000, %ecx
	jne 1b
	lea s_movsb(%rip), %rsi
	call puts

	# ---- stosq downwards ----
	movabs $0x1122334455667788, %rax
	mov $64, %ecx
	mov $0x3030f8, %edi
	std
	rep stosq
	cld
	mov $0x06, %bl
	cmpq $0x302ff8, pf_cr2(%rip)
	jne fail
	mov $0x07, %bl
	cmpq $32, pf_rcx(%rip)
	jne fail
	mov $0x08, %bl
	test %rcx, %rcx
	jnz fail
	cmp $0x302ef8, %rdi
	jne fail
	mov $0x09, %bl
	cmp %rax, 0x302f00
	jne fail
	cmpq $0, 0x302ef8
	jne fail
	lea s_stosq(%rip), %rsi
	call puts

	# ---- repe cmpsb ----
	lea str1(%rip), %rsi
	lea str2(%rip), %rdi
	mov $13, %ecx
	repe cmpsb
	pushfq
	pop %rdx
	mov $0x0a, %bl
	cmp $2, %rcx
	jne fail
	lea str1 + 11(%rip), %rax
	cmp %rax, %rsi
	jne fail
	lea str2 + 11(%rip), %rax
	cmp %rax, %rdi
	jne fail
	mov $0x0b, %bl
	and $0x8c1, %edx		# OF SF ZF CF
	jnz fail
	lea s_cmpsb(%rip), %rsi
	call puts

	# ---- repne scasb ----
	lea str1(%rip), %rdi
	mov $10, %ecx
	mov $'g', %al
	repne scasb
	pushfq
	pop %rdx
	mov $0x0c, %bl
	cmp $3, %rcx
	jne fail
	lea str1 + 7(%rip), %rax
	cmp %rax, %rdi
	jne fail
	test $0x40, %edx
	jz fail
	lea s_scasb(%rip), %rsi
	call puts

	# ---- zero count ----
	lea str1(%rip), %rsi
	lea str2(%rip), %rdi
	xor %ecx, %ecx
	push $0x8d7
	popfq
	rep movsb
	pushfq
	pop %rdx
	mov $0x0d, %bl
	and $0x8d5, %edx
	cmp $0x8d5, %edx
	jne fail
	lea str1(%rip), %rax
	cmp %rax, %rsi
	jne fail
	lea str2(%rip), %rax
	cmp %rax, %rdi
	jne fail
	cmpb $'a', str2(%rip)
	jne fail
	push $2
	popfq
	lea s_zero(%rip), %rsi
	call puts

	# ---- 32-bit address size ----
	movq $0, 0x300000
	movabs $0xffffffff00000004, %rcx
	movabs $0xffffffff00300000, %rdi
	mov $0xab, %al
	addr32 rep stosb
	mov $0x0e, %bl
	test %rcx, %rcx
	jnz fail
	cmp $0x300004, %rdi
	jne fail
	cmpl $0xabababab, 0x300000
	jne fail
	cmpb $0, 0x300004
	jne fail
	lea s_addr32(%rip), %rsi
	call puts

	# ---- overlapping copy ----
	lea buf(%rip), %rsi
	lea buf + 1(%rip), %rdi
	mov $8, %ecx
	rep movsb
	mov $0x0f, %bl
	movabs $0x4141414141414141, %rax
	cmp %rax, buf(%rip)
	jne fail
	cmpb $'A', buf + 8(%rip)
	jne fail
	lea s_overlap(%rip), %rsi
	call puts

	lea s_ok(%rip), %rsi
	call puts
	mov $0x3c, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# fail: prints " FAIL\n" and exits with the code in BL.
fail:
	cld
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

# #PF: records CR2, the error code, RIP, RCX, RSI and RDI; makes CR2's page (in 0x200000-0x3fffff) present
# and writable; returns to re-run the instruction.
pf_handler:
	mov %rcx, pf_rcx(%rip)
	mov %rsi, pf_rsi(%rip)
	mov %rdi, pf_rdi(%rip)
	push %rax
	mov 8(%rsp), %rax
	mov %rax, pf_err(%rip)
	mov 16(%rsp), %rax
	mov %rax, pf_rip(%rip)
	mov %cr2, %rax
	mov %rax, pf_cr2(%rip)
	sub $0x200000, %rax
	cmp $0x200000, %rax
	jae 1f
	shr $12, %rax
	lea 0x203000(,%rax,8), %rax
	mov %rax, r_tmp(%rip)
	mov pf_cr2(%rip), %rax
	and $~0xfff, %rax
	or $3, %rax
	push %rbx
	mov r_tmp(%rip), %rbx
	mov %rax, (%rbx)
	pop %rbx
	mov pf_cr2(%rip), %rax
	invlpg (%rax)
	pop %rax
	add $8, %rsp			# the error code
	iretq
1:	mov $0x4e, %bl			# a #PF outside the test pages
	jmp fail

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
	.word 0, 0, 0
idt_desc:
	.word 32 * 16 - 1
	.quad idt
	.balign 16
idt:
	.fill 32 * 16, 1, 0
pf_cr2:	.quad 0
pf_err:	.quad 0
pf_rip:	.quad 0
pf_rcx:	.quad 0
pf_rsi:	.quad 0
pf_rdi:	.quad 0
r_tmp:	.quad 0
buf:	.ascii "A2345678"
	.byte 0, 0
str1:	.ascii "abcdefghijXYZ"
str2:	.ascii "abcdefghijQYZ"
s_head:	.asciz "strings:"
s_movsb: .asciz " movsb"
s_stosq: .asciz " stosq"
s_cmpsb: .asciz " cmpsb"
s_scasb: .asciz " scasb"
s_zero:	.asciz " zero"
s_addr32: .asciz " addr32"
s_overlap: .asciz " overlap"
s_ok:	.asciz " ok\n"
s_fail:	.asciz " FAIL\n"
