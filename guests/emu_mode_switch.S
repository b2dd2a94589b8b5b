# emu_mode_switch: the guest itself climbs from real mode to protected mode, to 32-bit paging and on to
# long mode, then comes back down through compatibility mode and 16-bit protected mode to real mode,
# checking each step from inside before it prints it.
# Build: buildFlat("emu_mode_switch.S", 0x1000); run: tsvmm run [--mode real] FILE (load 0x1000).
# Steps and what each one checks (a failed check prints " FAIL" and exits with its code, listed below):
#   real       CR0.PE=0 (1); segment arithmetic: 0x2000:0x0010 and 0x1ff0:0x0110 both reach linear 0x20010 (2)
#   protected  CR0.PE reads back 1 (3); CS=0x08 (4); FS loaded from a descriptor with base 0x30000 reads what
#              real mode wrote at linear 0x30000 (5); 32-bit arithmetic carries past bit 15 (6); a write above
#              1 MiB (0x200000) reads back (7)
#   paged      32-bit paging with CR4.PSE: PDE[0] a 4 MiB identity page, PDE[1] a page table mapping
#              0x400000 -> 0x30000, PDE[256] a 4 MiB page mapping 0x40000000 -> 0; CR0.PG reads back 1 (8);
#              0x400000 reads the value at physical 0x30000 (9); a write through the 0x40000000 alias is
#              seen at its identity address (10); the walk set the accessed bit in PDE[1] (11) and PTE[0] (12)
#   long       paging off, then 4-level tables (PML4[0] and PML4[256] -> one PDPT -> one PD of 2 MiB pages),
#              CR4.PAE, EFER.LME, CR0.PG: EFER.LMA reads 1 in compatibility mode (13); after the far jump to
#              the 64-bit code segment: byte 0x40 is a REX prefix (14); EFER reads back LME|LMA (15); a 64-bit
#              add carries out of bit 63 (16); 64-bit shifts (17); a read through the higher-half alias
#              0xffff800000030000 sees physical 0x30000 (18); a 64-bit push moves RSP by 8 (19)
#   compat     a far return (LRETQ) to the 32-bit code segment: EFER.LMA still 1 (20), CS 0x08 (21)
#   protected  paging off leaves IA-32e mode: LMA reads 0 (22); LME and PAE cleared; memory above 1 MiB
#              reads back, unpaged (23)
#   real       a far jump to 16-bit code (0x28), data segments 0x30, CR0.PE cleared, a far jump to 0:real2:
#              CR0.PE reads 0 (24), CS is 0 (25), segment arithmetic: GS 0x0001 reaches what FS (base 0
#              from its descriptor) wrote at 0x10 (26)
# Expected output on COM1: "mode switch: real -> protected -> paged -> long -> compat -> protected -> real\n"
# Exit: 0x30 to port 0xf4 (isa-debug-exit) -> status (0x30<<1)|1 = 97.
# Memory used: stack below 0x7000, page tables at 0x20000-0x24fff, data at 0x30000 and 0x200000.
	.code16
	.text
	.globl _start
_start:
	cli
	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x7000, %sp

	mov $s_real, %si
	call puts16
	mov %cr0, %eax
	mov $1, %bl
	test $1, %al			# CR0.PE must be clear
	jnz fail16
	mov $0x2000, %ax		# 0x2000:0x0010 = 0x20000 + 0x10
	mov %ax, %fs
	mov $0x1ff0, %ax		# 0x1ff0:0x0110 = 0x1ff00 + 0x110 = 0x20010
	mov %ax, %gs
	movl $0xc0ffee11, %fs:0x10
	mov $2, %bl
	cmpl $0xc0ffee11, %gs:0x110
	jne fail16
	mov $0x3000, %ax		# linear 0x30000: read back in every later mode
	mov %ax, %fs
	movl $0x5a5aa5a5, %fs:0

	lgdtl gdt_desc
	mov %cr0, %eax
	or $1, %eax			# CR0.PE
	mov %eax, %cr0
	ljmpl $0x08, $pm32

# fail16: prints " FAIL\n" and exits with the code in BL.
fail16:
	mov $s_fail, %si
	call puts16
	movzbl %bl, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# puts16: writes the NUL-terminated string at SI to COM1. Clobbers AL, DX, SI.
puts16:
	mov $0x3f8, %dx
1:	movb (%si), %al
	test %al, %al
	jz 2f
	out %al, (%dx)
	inc %si
	jmp 1b
2:	ret

	.code32
pm32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %gs
	mov $0x7000, %esp
	mov %cr0, %eax
	mov $3, %bl
	test $1, %al
	jz fail32
	mov %cs, %eax
	mov $4, %bl
	cmp $0x08, %ax
	jne fail32
	mov $0x20, %ax			# data segment with base 0x30000
	mov %ax, %fs
	mov $5, %bl
	cmpl $0x5a5aa5a5, %fs:0
	jne fail32
	mov $0x0000ffff, %eax		# 0xffff + 1 = 0x10000: a carry out of bit 15 a 16-bit add would lose
	add $1, %eax
	mov $6, %bl
	cmp $0x10000, %eax
	jne fail32
	movl $0x600df00d, 0x200000
	mov $7, %bl
	cmpl $0x600df00d, 0x200000
	jne fail32
	mov $s_prot, %esi
	call puts32

	# 32-bit paging: page directory at 0x20000, one page table at 0x21000
	mov $0x20000, %edi
	xor %eax, %eax
	mov $0x800, %ecx		# two pages of dwords
1:	movl $0, (%edi)
	add $4, %edi
	dec %ecx
	jnz 1b
	movl $0x00000083, 0x20000		# PDE[0]: 4 MiB page at 0, PS|R/W|P
	movl $0x00021003, 0x20000 + 1 * 4	# PDE[1]: page table 0x21000, R/W|P (0x400000-0x7fffff)
	movl $0x00000083, 0x20000 + 256 * 4	# PDE[256]: 0x40000000 -> 4 MiB page at 0
	movl $0x00030003, 0x21000		# PTE[0]: 0x400000 -> 0x30000, R/W|P
	mov %cr4, %eax
	or $0x10, %eax			# CR4.PSE
	mov %eax, %cr4
	mov $0x20000, %eax
	mov %eax, %cr3
	mov %cr0, %eax
	or $0x80000000, %eax		# CR0.PG
	mov %eax, %cr0
	jmp 1f
1:	mov %cr0, %eax
	mov $8, %bl
	test %eax, %eax			# bit 31 is the sign
	jns fail32
	mov $9, %bl
	cmpl $0x5a5aa5a5, 0x400000
	jne fail32
	movl $0x12345678, 0x40000000 + scratch
	mov $10, %bl
	cmpl $0x12345678, scratch
	jne fail32
	mov $11, %bl
	testl $0x20, 0x20000 + 1 * 4	# PDE[1].A
	jz fail32
	mov $12, %bl
	testl $0x20, 0x21000		# PTE[0].A
	jz fail32
	mov $s_paged, %esi
	call puts32

	# long mode: paging off, 4-level tables at 0x22000 (PML4), 0x23000 (PDPT), 0x24000 (PD)
	mov %cr0, %eax
	and $0x7fffffff, %eax
	mov %eax, %cr0
	jmp 1f
1:	mov $0x22000, %edi
	mov $0xc00, %ecx		# three pages of dwords
2:	movl $0, (%edi)
	add $4, %edi
	dec %ecx
	jnz 2b
	movl $0x23003, 0x22000		# PML4[0] -> PDPT
	movl $0x23003, 0x22000 + 256 * 8	# PML4[256] (0xffff800000000000) -> the same PDPT
	movl $0x24003, 0x23000		# PDPT[0] -> PD
	movl $0x000083, 0x24000		# PD[0]: 2 MiB page at 0
	movl $0x200083, 0x24008		# PD[1]: 2 MiB page at 0x200000
	mov %cr4, %eax
	or $0x20, %eax			# CR4.PAE
	mov %eax, %cr4
	mov $0x22000, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx		# IA32_EFER
	rdmsr
	or $0x100, %eax			# LME
	wrmsr
	mov %cr0, %eax
	or $0x80000000, %eax		# CR0.PG: IA-32e mode, still in 32-bit (compatibility) code
	mov %eax, %cr0
	mov $0xc0000080, %ecx
	rdmsr
	mov $13, %bl
	test $0x400, %eax		# LMA
	jz fail32
	ljmp $0x18, $lm64

# fail32: prints " FAIL\n" and exits with the code in BL.
fail32:
	mov $s_fail, %esi
	call puts32
	movzbl %bl, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# puts32: writes the NUL-terminated string at ESI to COM1. Clobbers AL, DX, ESI.
puts32:
	mov $0x3f8, %dx
1:	movb (%esi), %al
	test %al, %al
	jz 2f
	out %al, (%dx)
	inc %esi
	jmp 1b
2:	ret

compat32:
	mov $0xc0000080, %ecx
	rdmsr
	mov $20, %bl
	test $0x400, %eax		# still IA-32e mode: LMA
	jz fail32
	mov %cs, %eax
	mov $21, %bl
	cmp $0x08, %eax
	jne fail32
	mov $s_compat, %esi
	call puts32
	mov %cr0, %eax			# ... paging off, which leaves IA-32e mode ...
	and $0x7fffffff, %eax
	mov %eax, %cr0
	jmp 1f
1:	mov $0xc0000080, %ecx
	rdmsr
	mov $22, %bl
	test $0x400, %eax		# LMA clear
	jnz fail32
	and $~0x100, %eax		# LME off too, and PAE
	wrmsr
	mov %cr4, %eax
	and $~0x20, %eax
	mov %eax, %cr4
	movl $0x0badcafe, 0x200010	# flat, unpaged memory above 1 MiB
	mov $23, %bl
	cmpl $0x0badcafe, 0x200010
	jne fail32
	mov $s_prot, %esi
	call puts32
	ljmp $0x28, $pm16		# ... 16-bit protected mode, then real mode
	.code16
pm16:
	mov $0x30, %ax			# 16-bit data segments (64 KiB limits) for real mode to keep
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov %ax, %ss
	mov %cr0, %eax
	and $~1, %eax
	mov %eax, %cr0
	ljmp $0, $real2
real2:
	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x7000, %sp
	mov %cr0, %eax
	mov $24, %bl
	test $1, %al
	jnz fail16
	mov %cs, %ax
	mov $25, %bl
	test %ax, %ax
	jnz fail16
	movw $0x1234, %fs:0x10		# FS keeps base 0 from the 16-bit data descriptor
	mov $0x0001, %ax
	mov %ax, %gs			# GS base 0x10: GS:0 is linear 0x10
	mov $26, %bl
	cmpw $0x1234, %gs:0
	jne fail16
	mov $s_real2, %si
	call puts16
	mov $0x30, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

	.code64
lm64:
	xor %eax, %eax
	.byte 0x40			# REX prefix in 64-bit mode (`inc %eax` in 32-bit code)
	nop
	mov $14, %bl
	test %eax, %eax
	jnz fail64
	mov $0xc0000080, %ecx
	rdmsr
	and $0x500, %eax
	mov $15, %bl
	cmp $0x500, %eax		# LME (bit 8) | LMA (bit 10)
	jne fail64
	movabs $0x8000000000000001, %rax
	add %rax, %rax			# 0x8000000000000001 * 2 = 0x1_0000000000000002: RAX = 2, CF = 1
	mov $16, %bl
	jnc fail64
	cmp $2, %rax
	jne fail64
	movabs $0x0123456789abcdef, %rax
	shl $8, %rax			# 0x23456789abcdef00
	shr $36, %rax			# 0x23456789abcdef00 >> 36 = 0x23456789abcdef00 / 2^36 = 0x0000000002345678
	mov $17, %bl
	cmp $0x2345678, %rax
	jne fail64
	movabs $0xffff800000030000, %rcx
	mov $18, %bl
	cmpl $0x5a5aa5a5, (%rcx)
	jne fail64
	mov %rsp, %rdx
	push %rax
	sub %rsp, %rdx
	pop %rax
	mov $19, %bl
	cmp $8, %rdx
	jne fail64
	lea s_long(%rip), %rsi
	call puts64

	# and back: a far return to the 32-bit code segment (compatibility mode) ...
	pushq $0x08
	lea compat32(%rip), %rax
	push %rax
	lretq

# fail64: prints " FAIL\n" and exits with the code in BL.
fail64:
	lea s_fail(%rip), %rsi
	call puts64
	movzbl %bl, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# puts64: writes the NUL-terminated string at RSI to COM1. Clobbers AL, DX, RSI.
puts64:
	mov $0x3f8, %dx
1:	movb (%rsi), %al
	test %al, %al
	jz 2f
	out %al, (%dx)
	inc %rsi
	jmp 1b
2:	ret

	.balign 8
gdt:
	.quad 0
	.quad 0x00cf9b000000ffff	# 0x08: 32-bit code, base 0, 4 GiB
	.quad 0x00cf93000000ffff	# 0x10: data, base 0, 4 GiB
	.quad 0x00af9b000000ffff	# 0x18: 64-bit code (L=1)
	.quad 0x004093030000ffff	# 0x20: data, base 0x30000, limit 0xffff, byte granular
	.quad 0x00009b000000ffff	# 0x28: 16-bit code, base 0, limit 0xffff
	.quad 0x000093000000ffff	# 0x30: 16-bit data, base 0, limit 0xffff
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
scratch:
	.long 0
s_real:	.asciz "mode switch: real"
s_prot:	.asciz " -> protected"
s_paged: .asciz " -> paged"
s_long:	.asciz " -> long"
s_compat: .asciz " -> compat"
s_real2: .asciz " -> real\n"
s_fail:	.asciz " FAIL\n"
