# emu_paging_legacy: #PF and accessed/dirty bits under 32-bit paging (with 4 MiB PSE pages) and under PAE
# paging outside long mode (PDPTEs, 2 MiB pages, XD, reserved bits), plus global pages flushed by toggling
# CR4.PGE. A #PF handler records CR2, the error code and the faulting EIP; each case compares them.
# Build: buildFlat("emu_paging_legacy.S", 0x100000); run: tsvmm run --mode protected FILE (load 0x100000).
# 32-bit paging (CR4.PSE, CR0.WP): page directory 0x200000, page table 0x201000:
#   PDE[0] 4 MiB page at 0; PDE[1] -> PT (0x400000-0x7fffff, 4 KiB, identity) with 0x410000 not present,
#   0x411000 read-only, 0x412000 and 0x413000 writable; PDE[2] 4 MiB page at 0x800000 (A and D clear)
#   np-read   mov 0x410010,%eax           CR2 0x410010, error 0x0   (failure codes 0x01-0x04)
#   np-write  movl $1,0x410020            CR2 0x410020, error 0x2   (0x05-0x08)
#   wp        movl $1,0x411030            CR2 0x411030, error 0x3   (0x09-0x0c)
#   a/d 4M    a read of 0x800000 sets PDE[2].A only (0x0d, 0x0e), a write then sets PDE[2].D (0x0f)
#   a/d 4K    the same on the PTE of 0x412000 (0x10, 0x11, 0x12), and PDE[1].A (0x13)
#   global    CR4.PGE, the PTE of 0x413000 global (G), read, then made not present: toggling CR4.PGE
#             flushes even global translations, so a read faults: CR2 0x413040, error 0x0 (0x14-0x17)
# PAE paging (CR4.PAE, EFER.NXE, no LME): PDPT 0x202000 (PDPTE[0] only), PD 0x203000 (2 MiB pages at 0 and
# 0x200000), PD[2] -> PT 0x204000 (0x400000-0x5fffff, identity) with 0x410000 XD, 0x411000 with reserved
# bit 51 set, 0x412000 not present:
#   nx        call 0x410000               CR2 0x410000, error 0x11, EIP 0x410000 (0x18-0x1b)
#   rsvd      mov 0x411050,%eax           CR2 0x411050, error 0x09 (P|RSVD; QEMU TCG 7.2 reports 0x08)
#             (0x1c-0x1f)
#   np-fetch  call 0x412000               CR2 0x412000, error 0x10, EIP 0x412000 (0x20-0x23)
#   pdpte     mov 0x40000060,%eax (PDPTE[1] not present)   CR2 0x40000060, error 0x0   (0x24-0x27)
#   a/d 2M    a write to 0x200000's page set PD[1].A and D (0x28)
# Failure codes: case base + 0 no fault, + 1 wrong CR2, + 2 wrong error code, + 3 wrong EIP. Any other
# exception: 0x40 + vector.
# Expected output on COM1: "paging legacy: 32-bit np-read np-write wp a/d a/d global pae nx rsvd np-fetch pdpte a/d ok\n"
# Exit: 0x38 to port 0xf4 (isa-debug-exit) -> status (0x38<<1)|1 = 113.
	.code32
	.text
	.globl _start
_start:
	cli
	mov $s_head, %esi
	call puts

	# IDT: vector v -> stubs + 16*v, 14 -> pf_handler
	mov $idt, %edi
	mov $stubs, %edx
	xor %ecx, %ecx
1:	mov %edx, %eax
	cmp $14, %ecx
	jne 2f
	mov $pf_handler, %eax
2:	mov %eax, r_tmp
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

	# 32-bit paging structures
	mov $0x200000, %edi
	mov $0x800, %ecx		# two pages of dwords
1:	movl $0, (%edi)
	add $4, %edi
	dec %ecx
	jnz 1b
	movl $0x00000083, 0x200000		# PDE[0]: 4 MiB at 0, PS|R/W|P
	movl $0x00201003, 0x200004		# PDE[1] -> PT 0x201000
	movl $0x00800083, 0x200008		# PDE[2]: 4 MiB at 0x800000
	xor %ecx, %ecx
1:	mov %ecx, %eax			# PT: 0x400000 + 4 KiB * i, R/W|P
	imul $0x1000, %eax, %eax
	add $0x400003, %eax
	mov %eax, 0x201000(,%ecx,4)
	inc %ecx
	cmp $1024, %ecx
	jne 1b
	movl $0, 0x201000 + 0x10 * 4		# 0x410000 not present
	movl $0x411001, 0x201000 + 0x11 * 4	# 0x411000 read-only
	mov %cr4, %eax
	or $0x10, %eax			# PSE
	mov %eax, %cr4
	mov $0x200000, %eax
	mov %eax, %cr3
	mov %cr0, %eax
	or $0x80010000, %eax		# PG, WP
	mov %eax, %cr0
	jmp 1f
1:	mov $s_32, %esi
	call puts

.macro PF base, addr, err, insn:vararg
	movl $3f, resume_eip
	mov %esp, resume_esp
	movl $-1, pf_err
2:	\insn
	mov $\base, %bl
	jmp fail
3:	mov $\base + 1, %bl
	cmpl $\addr, pf_cr2
	jne fail
	mov $\base + 2, %bl
	cmpl $\err, pf_err
	jne fail
	mov $\base + 3, %bl
	cmpl $2b, pf_eip
	jne fail
.endm
.macro FETCH base, addr, err
	movl $3f, resume_eip
	mov %esp, resume_esp
	movl $-1, pf_err
	mov $\addr, %eax
	call *%eax
	mov $\base, %bl
	jmp fail
3:	mov $\base + 1, %bl
	cmpl $\addr, pf_cr2
	jne fail
	mov $\base + 2, %bl
	cmpl $\err, pf_err
	jne fail
	mov $\base + 3, %bl
	cmpl $\addr, pf_eip
	jne fail
.endm

	PF 0x01, 0x410010, 0x0, mov 0x410010, %eax
	mov $s_npread, %esi
	call puts
	PF 0x05, 0x410020, 0x2, movl $1, 0x410020
	mov $s_npwrite, %esi
	call puts
	PF 0x09, 0x411030, 0x3, movl $1, 0x411030
	mov $s_wp, %esi
	call puts

	mov 0x800000, %eax
	mov 0x200008, %eax
	mov $0x0d, %bl
	test $0x20, %al			# PDE[2].A
	jz fail
	mov $0x0e, %bl
	test $0x40, %al			# PDE[2].D: not yet
	jnz fail
	movl $1, 0x800004
	mov $0x0f, %bl
	testl $0x40, 0x200008
	jz fail
	mov $s_ad, %esi
	call puts
	mov 0x412000, %eax
	mov 0x201000 + 0x12 * 4, %eax
	mov $0x10, %bl
	test $0x20, %al
	jz fail
	mov $0x11, %bl
	test $0x40, %al
	jnz fail
	movl $1, 0x412004
	mov $0x12, %bl
	testl $0x40, 0x201000 + 0x12 * 4
	jz fail
	mov $0x13, %bl
	testl $0x20, 0x200004
	jz fail
	mov $s_ad, %esi
	call puts

	mov %cr4, %eax
	or $0x80, %eax			# PGE
	mov %eax, %cr4
	movl $0x413103, 0x201000 + 0x13 * 4	# G|R/W|P
	invlpg 0x413000
	mov 0x413040, %eax		# cached, global
	movl $0, 0x201000 + 0x13 * 4
	mov %cr4, %eax
	and $~0x80, %eax		# clearing PGE flushes global entries too
	mov %eax, %cr4
	or $0x80, %eax
	mov %eax, %cr4
	PF 0x14, 0x413040, 0x0, mov 0x413040, %eax
	mov %cr4, %eax
	and $~0x80, %eax
	mov %eax, %cr4
	mov $s_global, %esi
	call puts

	# PAE paging: paging off, new structures, CR4.PAE, EFER.NXE, CR3 = PDPT, paging on
	mov %cr0, %eax
	and $0x7fffffff, %eax
	mov %eax, %cr0
	jmp 1f
1:	mov $0x202000, %edi
	mov $0xc00, %ecx		# three pages of dwords
1:	movl $0, (%edi)
	add $4, %edi
	dec %ecx
	jnz 1b
	movl $0x203001, 0x202000	# PDPTE[0] -> PD (only P: R/W and U/S are reserved in PAE PDPTEs)
	movl $0x000083, 0x203000	# PD[0]: 2 MiB page at 0
	movl $0x200083, 0x203008	# PD[1]: 2 MiB page at 0x200000 (A and D clear)
	movl $0x204003, 0x203010	# PD[2] -> PT 0x204000
	xor %ecx, %ecx
1:	mov %ecx, %eax
	imul $0x1000, %eax, %eax
	add $0x400003, %eax
	mov %eax, 0x204000(,%ecx,8)
	inc %ecx
	cmp $512, %ecx
	jne 1b
	movl $0x80000000, 0x204000 + 0x10 * 8 + 4	# 0x410000: XD (bit 63)
	movl $0x00080000, 0x204000 + 0x11 * 8 + 4	# 0x411000: bit 51, reserved
	movl $0, 0x204000 + 0x12 * 8			# 0x412000: not present
	movb $0xc3, 0x410000		# a ret, never to be fetched
	movb $0xc3, 0x412000
	mov $0xc0000080, %ecx
	rdmsr
	or $0x800, %eax			# NXE
	wrmsr
	mov %cr4, %eax
	or $0x20, %eax			# PAE
	mov %eax, %cr4
	mov $0x202000, %eax
	mov %eax, %cr3
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0
	jmp 1f
1:	mov $s_pae, %esi
	call puts

	FETCH 0x18, 0x410000, 0x11
	mov $s_nx, %esi
	call puts
	PF 0x1c, 0x411050, 0x09, mov 0x411050, %eax
	mov $s_rsvd, %esi
	call puts
	FETCH 0x20, 0x412000, 0x10
	mov $s_npfetch, %esi
	call puts
	PF 0x24, 0x40000060, 0x0, mov 0x40000060, %eax
	mov $s_pdpte, %esi
	call puts
	movl $5, 0x201000		# (in PD[1]'s 2 MiB page)
	mov 0x203008, %eax
	and $0x60, %eax
	mov $0x28, %bl
	cmp $0x60, %eax
	jne fail
	mov $s_ad, %esi
	call puts

	mov $s_ok, %esi
	call puts
	mov $0x38, %eax
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

pf_handler:
	popl pf_err
	mov %cr2, %eax
	mov %eax, pf_cr2
	mov (%esp), %eax
	mov %eax, pf_eip
	mov resume_esp, %esp
	jmp *resume_eip

unexpected:
	pop %ebx
	add $0x40, %ebx
	jmp fail

	.balign 16
stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign 16
	push $\v
	jmp unexpected
	.endr

	.balign 8
	.word 0
idt_desc:
	.word 32 * 8 - 1
	.long idt
	.balign 8
idt:
	.fill 32 * 8, 1, 0
resume_eip: .long 0
resume_esp: .long 0
pf_err:	.long 0
pf_cr2:	.long 0
pf_eip:	.long 0
r_tmp:	.long 0
s_head:	.asciz "paging legacy:"
s_32:	.asciz " 32-bit"
s_npread: .asciz " np-read"
s_npwrite: .asciz " np-write"
s_wp:	.asciz " wp"
s_ad:	.asciz " a/d"
s_global: .asciz " global"
s_pae:	.asciz " pae"
s_nx:	.asciz " nx"
s_rsvd:	.asciz " rsvd"
s_npfetch: .asciz " np-fetch"
s_pdpte: .asciz " pdpte"
s_ok:	.asciz " ok\n"
s_fail:	.asciz " FAIL\n"
