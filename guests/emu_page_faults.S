# emu_page_faults: a #PF handler that records CR2, the error code and the faulting RIP, and the faults 4-level
# paging must raise, each compared with the value the SDM gives (vol. 3, 4.7: error code bits P=1, W/R=2,
# U/S=4, RSVD=8, I/D=0x10), plus the accessed and dirty bits the walk sets.
# Build: buildFlat("emu_page_faults.S", 0x100000); run: tsvmm run --mode long FILE (load 0x100000).
# The guest installs its own GDT (kernel and user segments, a TSS whose RSP0 is the ring-0 stack for faults
# from ring 3), IDT and page tables (PML4 0x200000, PDPT 0x201000, PD 0x202000, PT 0x203000):
#   0x000000-0x1fffff  one 2 MiB page, user + writable (the guest's code, stacks)
#   0x200000-0x3fffff  a page table, 4 KiB pages, supervisor + writable, except:
#     0x210000 not present            0x211000 read-only            0x212000 supervisor (for ring 3)
#     0x213000 XD (no execute)        0x214000 accessed/dirty, invlpg and CR3-reload tests
#     0x215000 reserved bit 51 set (above MAXPHYADDR)
#     0x218000 not present, 0x21a000 read-only: the pages after 0x217000 and 0x219000, for accesses
#     that straddle a page boundary; 0x21d000 not present, for the hot loop
#   0x400000-0x3fffffff  2 MiB pages, supervisor + writable
# EFER.NXE and CR0.WP are set. Cases (expected CR2 / error code / RIP of the faulting instruction):
#   np-read      mov 0x210010,%eax at CPL0                    0x210010 / 0x00
#   np-write     movl $1,0x210020 at CPL0                     0x210020 / 0x02
#   wp           movl $1,0x211030 at CPL0, CR0.WP=1           0x211030 / 0x03 (with CR0.WP=0 no fault)
#   nx           call 0x213000 (XD page) at CPL0             0x213000 / 0x11, RIP 0x213000
#   np-fetch     call 0x210000 at CPL0                        0x210000 / 0x10, RIP 0x210000
#   user-read    mov 0x212040,%eax at CPL3 (entered by IRETQ) 0x212040 / 0x05, frame CS = 0x3b
#   user-write   movl $1,0x212050 at CPL3                     0x212050 / 0x07, frame CS = 0x3b
#   a/d          a read of 0x214000 sets PTE.A only; a write then sets PTE.D; the PDE, PDPTE and PML4E on
#                the walk have A set, and the 2 MiB page the stack lives in has A and D
#   invlpg       PTE cleared + INVLPG, then a read           0x214060 / 0x00; the PTE restored, the read
#                works again with no INVLPG (not-present entries are never cached)
#   cr3          PTE made read-only + MOV CR3, then a write   0x214070 / 0x03
#   rsvd         mov 0x215080,%eax                            0x215080 / 0x09 (P|RSVD; QEMU TCG 7.2 leaves P
#                clear, against SDM vol. 3, 4.7)
#   split-fetch  call 0x217ffe, a mov $imm32,%eax whose last 3 bytes lie on 0x218000
#                                                              0x218000 / 0x10, RIP 0x217ffe
#   split-read   mov 0x217ffe,%eax                            0x218000 / 0x00
#   split-write  movl $0xaabbccdd,0x219ffe                    0x21a000 / 0x03, and the two bytes on the
#                writable page stay unwritten (0x45)
#   hot          a loop (hot enough to be compiled) loads 16 bytes further each time from 0x21c010 on: the
#                256th load, at 0x21d000, faults: error 0, RIP the load, RSI 0x21d000, ECX 0x80000100 - 255 =
#                0x80000001, and the frame's flags those of the last DEC (0x80000001: SF only of the six)
#                (0x49-0x4c)
#   1g           PML4[1] -> a PDPT at 0x204000 whose entry 0 is a 1 GiB page at 0 (CPUID.80000001H:EDX.
#                Page1GB): 0x8000100000 reads the guest's own first bytes (0x46), a write sets the PDPTE's
#                A and D (0x47); bit 13 set in it (reserved: bits 29:13) gives 0x8000000040 / 0x09 (0x48)
# Failure codes (exit value): case base + 0 no fault, + 1 wrong CR2, + 2 wrong error code, + 3 wrong RIP
# (or CS); bases: np-read 0x01, np-write 0x05, wp 0x09 (0x0d: a fault with CR0.WP=0), nx 0x11,
# np-fetch 0x15, user-read 0x19, user-write 0x1d, invlpg 0x21 (0x25: the read after restoring faulted),
# cr3 0x29, rsvd 0x34, split-fetch 0x38, split-read 0x3c, split-write 0x41, hot 0x49; a/d: 0x2d PTE.A after read, 0x2e PTE.D after read, 0x2f PTE.D after write, 0x30 PDE.A,
# 0x31 PDPTE.A, 0x32 PML4E.A, 0x33 2 MiB page A|D. Any other exception: 0x40 + vector.
# Expected output on COM1:
#   "page faults: np-read np-write wp nx np-fetch user-read user-write a/d invlpg cr3 rsvd split hot 1g ok\n"
# Exit: 0x31 to port 0xf4 (isa-debug-exit) -> status (0x31<<1)|1 = 99.
	.code64
	.text
	.globl _start
_start:
	cli
	lea s_head(%rip), %rsi
	call puts

	# the TSS descriptor's base is the TSS's address
	lea tss(%rip), %rax
	lea gdt(%rip), %rdi
	mov %ax, 0x40 + 2(%rdi)
	shr $16, %rax
	mov %al, 0x40 + 4(%rdi)
	mov %ah, 0x40 + 7(%rdi)
	movq $0x7ff0, tss + 4(%rip)	# RSP0: the stack for faults from ring 3
	lgdt gdt_desc(%rip)		# CS 0x18 and SS 0x10 describe the same segments as tsvmm's GDT
	mov $0x40, %ax
	ltr %ax

	# IDT: vectors 0-31 point at the stubs (8 bytes each), 14 at pf_handler; 64-bit interrupt gates
	lea idt(%rip), %rdi
	lea stubs(%rip), %rdx
	xor %ecx, %ecx
1:	mov %rdx, %rax
	cmp $14, %ecx
	jne 2f
	lea pf_handler(%rip), %rax
2:	mov %ax, (%rdi)			# offset 15:0
	movw $0x18, 2(%rdi)		# selector
	movw $0x8e00, 4(%rdi)		# P, DPL 0, type 0xe (interrupt gate), IST 0
	shr $16, %rax
	mov %ax, 6(%rdi)		# offset 31:16
	shr $16, %rax
	mov %eax, 8(%rdi)		# offset 63:32
	movl $0, 12(%rdi)
	add $16, %rdi
	add $8, %rdx
	inc %ecx
	cmp $32, %ecx
	jne 1b
	lidt idt_desc(%rip)

	# page tables
	mov $0x200000, %edi
	mov $0x800, %ecx		# four pages of qwords
1:	movq $0, (%rdi)
	add $8, %rdi
	dec %ecx
	jnz 1b
	movq $0x201007, 0x200000	# PML4[0] -> PDPT, user|R/W|P
	movq $0x202007, 0x201000	# PDPT[0] -> PD, user|R/W|P
	movq $0x000087, 0x202000	# PD[0]: 2 MiB page at 0, PS|user|R/W|P
	movq $0x203007, 0x202008	# PD[1] -> PT, user|R/W|P
	mov $2, %ecx			# PD[2..511]: 2 MiB supervisor pages
1:	mov %rcx, %rax
	shl $21, %rax
	or $0x83, %rax
	mov %rax, 0x202000(,%rcx,8)
	inc %ecx
	cmp $512, %ecx
	jne 1b
	xor %ecx, %ecx			# PT: 0x200000 + 4 KiB * i, supervisor|R/W|P
1:	mov %rcx, %rax
	shl $12, %rax
	add $0x200003, %rax
	mov %rax, 0x203000(,%rcx,8)
	inc %ecx
	cmp $512, %ecx
	jne 1b
	movq $0, 0x203000 + 0x10 * 8		# 0x210000: not present
	movq $0x211001, 0x203000 + 0x11 * 8	# 0x211000: read-only
	movabs $0x8000000000213003, %rax	# 0x213000: XD (bit 63)
	mov %rax, 0x203000 + 0x13 * 8
	movb $0xc3, 0x213000			# a ret, never to be fetched
	movabs $0x0008000000215003, %rax	# 0x215000: bit 51 set
	mov %rax, 0x203000 + 0x15 * 8
	movb $0xb8, 0x217ffe			# mov $0x44332211, %eax; ret across 0x218000
	movl $0x44332211, 0x217fff
	movb $0xc3, 0x218003
	movq $0, 0x203000 + 0x18 * 8		# 0x218000: not present
	movq $0x21a001, 0x203000 + 0x1a * 8	# 0x21a000: read-only
	movq $0, 0x203000 + 0x1d * 8		# 0x21d000: not present

	mov $0xc0000080, %ecx		# IA32_EFER.NXE (bit 11), before any entry has XD set
	rdmsr
	or $0x800, %eax
	wrmsr
	mov %cr0, %rax
	or $0x10000, %eax		# CR0.WP
	mov %rax, %cr0
	mov $0x200000, %eax
	mov %rax, %cr3

# PF base, addr, err, insn...: runs insn at CPL0 expecting a #PF at addr with error code err; the faulting
# RIP must be the instruction's.
.macro PF base, addr, err, insn:vararg
	lea 3f(%rip), %rax
	mov %rax, resume_rip(%rip)
	mov %rsp, resume_rsp(%rip)
	movl $0, pf_count(%rip)
2:	\insn
	mov $\base, %bl
	jmp fail
3:	mov $\base + 1, %bl
	movabs $\addr, %rax
	cmp %rax, pf_cr2(%rip)
	jne fail
	mov $\base + 2, %bl
	cmpq $\err, pf_err(%rip)
	jne fail
	mov $\base + 3, %bl
	lea 2b(%rip), %rax
	cmp %rax, pf_rip(%rip)
	jne fail
.endm

	PF 0x01, 0x210010, 0x00, mov 0x210010, %eax
	lea s_npread(%rip), %rsi
	call puts
	PF 0x05, 0x210020, 0x02, movl $1, 0x210020
	lea s_npwrite(%rip), %rsi
	call puts
	PF 0x09, 0x211030, 0x03, movl $1, 0x211030
	mov %cr0, %rax			# CR0.WP=0: supervisor writes ignore R/W
	and $~0x10000, %eax
	mov %rax, %cr0
	lea 1f(%rip), %rax
	mov %rax, resume_rip(%rip)
	mov %rsp, resume_rsp(%rip)
	movl $0x5a, 0x211030
	mov %cr0, %rax
	or $0x10000, %eax
	mov %rax, %cr0
	cmpl $0x5a, 0x211030
	je 2f
1:	mov $0x0d, %bl
	jmp fail
2:	lea s_wp(%rip), %rsi
	call puts

# FETCH base, addr, err, cr2: calls addr expecting a #PF at cr2 on the fetch of the instruction there
# (RIP = addr).
.macro FETCH base, addr, err, cr2
	lea 3f(%rip), %rax
	mov %rax, resume_rip(%rip)
	mov %rsp, resume_rsp(%rip)
	mov $\addr, %eax
	call *%rax
	mov $\base, %bl
	jmp fail
3:	mov $\base + 1, %bl
	mov $\cr2, %eax
	cmp %rax, pf_cr2(%rip)
	jne fail
	mov $\base + 2, %bl
	cmpq $\err, pf_err(%rip)
	jne fail
	mov $\base + 3, %bl
	mov $\addr, %eax
	cmp %rax, pf_rip(%rip)
	jne fail
.endm

	FETCH 0x11, 0x213000, 0x11, 0x213000
	lea s_nx(%rip), %rsi
	call puts
	FETCH 0x15, 0x210000, 0x10, 0x210000
	lea s_npfetch(%rip), %rsi
	call puts

# USER base, addr, err, entry: IRETQ to ring 3 at entry (CS 0x3b, SS 0x33, user stack 0x1f0000) expecting
# a #PF at addr with error code err, raised by the instruction at entry, with CS 0x3b in the frame.
.macro USER base, addr, err, entry
	lea 3f(%rip), %rax
	mov %rax, resume_rip(%rip)
	mov %rsp, resume_rsp(%rip)
	pushq $0x33			# SS: user data, RPL 3
	pushq $0x1f0000			# RSP
	pushq $0x2			# RFLAGS
	pushq $0x3b			# CS: user 64-bit code, RPL 3
	lea \entry(%rip), %rax
	push %rax			# RIP
	iretq
3:	mov $\base + 1, %bl
	mov $\addr, %eax
	cmp %rax, pf_cr2(%rip)
	jne fail
	mov $\base + 2, %bl
	cmpq $\err, pf_err(%rip)
	jne fail
	mov $\base + 3, %bl
	lea \entry(%rip), %rax
	cmp %rax, pf_rip(%rip)
	jne fail
	cmpq $0x3b, pf_cs(%rip)
	jne fail
.endm

	USER 0x19, 0x212040, 0x05, user_read
	lea s_uread(%rip), %rsi
	call puts
	USER 0x1d, 0x212050, 0x07, user_write
	lea s_uwrite(%rip), %rsi
	call puts

	# accessed and dirty bits: the PT entry for 0x214000 starts with neither
	mov 0x214000, %eax
	mov 0x203000 + 0x14 * 8, %rax
	mov $0x2d, %bl
	test $0x20, %al			# A
	jz fail
	mov $0x2e, %bl
	test $0x40, %al			# D: not after a read
	jnz fail
	movl $7, 0x214008		# the cached translation has D=0: the write must set it
	mov 0x203000 + 0x14 * 8, %rax
	mov $0x2f, %bl
	test $0x40, %al
	jz fail
	mov $0x30, %bl
	testb $0x20, 0x202008		# PD[1].A
	jz fail
	mov $0x31, %bl
	testb $0x20, 0x201000		# PDPT[0].A
	jz fail
	mov $0x32, %bl
	testb $0x20, 0x200000		# PML4[0].A
	jz fail
	mov 0x202000, %rax		# PD[0]: the stack's 2 MiB page was read and written
	and $0x60, %eax
	mov $0x33, %bl
	cmp $0x60, %eax
	jne fail
	lea s_ad(%rip), %rsi
	call puts

	movq $0, 0x203000 + 0x14 * 8	# 0x214000 not present ...
	invlpg 0x214000			# ... and its cached translation dropped
	PF 0x21, 0x214060, 0x00, mov 0x214060, %eax
	movq $0x214003, 0x203000 + 0x14 * 8	# present again: no INVLPG needed
	lea 1f(%rip), %rax
	mov %rax, resume_rip(%rip)
	mov %rsp, resume_rsp(%rip)
	mov 0x214060, %eax
	jmp 2f
1:	mov $0x25, %bl
	jmp fail
2:	lea s_invlpg(%rip), %rsi
	call puts

	movl $1, 0x214070		# a writable translation in the TLB ...
	movq $0x214001, 0x203000 + 0x14 * 8	# ... made read-only in memory ...
	mov %cr3, %rax
	mov %rax, %cr3			# ... and flushed by the CR3 reload
	PF 0x29, 0x214070, 0x03, movl $2, 0x214070
	lea s_cr3(%rip), %rsi
	call puts
	PF 0x34, 0x215080, 0x09, mov 0x215080, %eax
	lea s_rsvd(%rip), %rsi
	call puts
	FETCH 0x38, 0x217ffe, 0x10, 0x218000
	PF 0x3c, 0x218000, 0x00, mov 0x217ffe, %eax
	PF 0x41, 0x21a000, 0x03, movl $0xaabbccdd, 0x219ffe
	mov $0x45, %bl
	cmpw $0, 0x219ffe
	jne fail
	lea s_split(%rip), %rsi
	call puts

	lea 3f(%rip), %rax
	mov %rax, resume_rip(%rip)
	mov %rsp, resume_rsp(%rip)
	movq $0, pf_flags(%rip)
	mov $0x21c000, %esi
	mov $0x80000100, %ecx
	xor %edx, %edx
1:	lea 0x10(%rsi), %rsi
hot_load:
	mov (%rsi), %eax
	add %eax, %edx
	dec %ecx
	jnz 1b
	mov $0x49, %bl
	jmp fail
3:	mov $0x4a, %bl
	cmpq $0x21d000, pf_cr2(%rip)
	jne fail
	cmpq $0, pf_err(%rip)
	jne fail
	lea hot_load(%rip), %rax
	cmp %rax, pf_rip(%rip)
	jne fail
	mov $0x4b, %bl
	cmp $0x21d000, %rsi
	jne fail
	cmp $0x80000001, %ecx
	jne fail
	mov $0x4c, %bl
	mov pf_flags(%rip), %rax
	and $0x8d5, %eax
	cmp $0x080, %eax
	jne fail
	lea s_hot(%rip), %rsi
	call puts

	mov $0x204000, %edi		# a second PDPT: entry 0 a 1 GiB page at 0
	mov $0x200, %ecx
1:	movq $0, (%rdi)
	add $8, %rdi
	dec %ecx
	jnz 1b
	movq $0x000083, 0x204000	# PS|R/W|P
	movq $0x204003, 0x200008	# PML4[1] -> it: 0x8000000000 .. 0x803fffffff
	movabs $0x8000100000, %rax
	mov (%rax), %rdx
	mov $0x46, %bl
	cmp _start(%rip), %rdx
	jne fail
	movabs $0x8000300000, %rax
	movl $1, (%rax)
	mov 0x204000, %rax
	and $0x60, %eax
	mov $0x47, %bl
	cmp $0x60, %eax
	jne fail
	movq $0x002083, 0x204000	# bit 13: reserved in a 1 GiB page's PDPTE
	movabs $0x8000000000, %rcx
	invlpg (%rcx)
	PF 0x48, 0x8000000040, 0x09, mov 0x40(%rcx), %rdx
	lea s_1g(%rip), %rsi
	call puts

	lea s_ok(%rip), %rsi
	call puts
	mov $0x31, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# ring-3 code: the first access must fault; should it not, the second (not present) one faults with another
# CR2 and the case fails.
user_read:
	mov 0x212040, %eax
	mov 0x210000, %eax
	ud2
user_write:
	movl $1, 0x212050
	mov 0x210000, %eax
	ud2

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

# #PF: records the error code, CR2, RIP and CS of the frame, then resumes at resume_rip with resume_rsp.
pf_handler:
	popq pf_err(%rip)
	mov %cr2, %rax
	mov %rax, pf_cr2(%rip)
	mov (%rsp), %rax
	mov %rax, pf_rip(%rip)
	mov 8(%rsp), %rax
	mov %rax, pf_cs(%rip)
	mov 16(%rsp), %rax
	mov %rax, pf_flags(%rip)
	incl pf_count(%rip)
	mov resume_rsp(%rip), %rsp
	jmp *resume_rip(%rip)

# any other exception: prints " FAIL\n" and exits with 0x40 + vector.
unexpected:
	pop %rbx
	add $0x40, %ebx
	jmp fail

	.balign 8
stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign 8
	pushq $\v
	jmp unexpected
	.endr

	.data
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
	.balign 8
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
resume_rip: .quad 0
resume_rsp: .quad 0
pf_err:	.quad 0
pf_cr2:	.quad 0
pf_rip:	.quad 0
pf_cs:	.quad 0
pf_flags: .quad 0
pf_count: .long 0
s_head:	.asciz "page faults:"
s_npread: .asciz " np-read"
s_npwrite: .asciz " np-write"
s_wp:	.asciz " wp"
s_nx:	.asciz " nx"
s_npfetch: .asciz " np-fetch"
s_uread: .asciz " user-read"
s_uwrite: .asciz " user-write"
s_ad:	.asciz " a/d"
s_invlpg: .asciz " invlpg"
s_cr3:	.asciz " cr3"
s_rsvd:	.asciz " rsvd"
s_split: .asciz " split"
s_1g:	.asciz " 1g"
s_hot:	.asciz " hot"
s_ok:	.asciz " ok\n"
s_fail:	.asciz " FAIL\n"
