# emu_big_real: "big real" (unreal) mode. The guest enters protected mode, loads FS and GS from a flat 4 GiB
# data descriptor, leaves through a 16-bit protected-mode code segment back to real mode, and then reaches
# memory above 1 MiB through FS and GS with 32-bit offsets: real mode keeps the limits the descriptors left
# in the segment caches.
# Build: buildFlat("emu_big_real.S", 0x1000); run: tsvmm run [--mode real] FILE (load 0x1000).
# Checks (failure code = exit value):
#   1  in 16-bit protected mode (CS 0x18: base 0, limit 0xffff, D=0) a push moves SP by 2 and CR0.PE is 1
#   2  back in real mode CR0.PE is 0 and CS is 0
#   3  a dword written through FS at offset 0x00300000 (3 MiB) reads back through GS at 0x002ffff0 + 0x10
#   4  the same dword through a 4 GiB-limit segment and an address-size prefix: FS:[EBX + ECX*4]
#   5  FS's base is still 0 and a real-mode load of ES (0x2000) gives base 0x20000: ES:0x10 = linear 0x20010
# Expected output on COM1: "big real: protected16 real unreal ok\n"
# Exit: 0x39 to port 0xf4 (isa-debug-exit) -> status (0x39<<1)|1 = 115.
	.code16
	.text
	.globl _start
_start:
	cli
	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %ss
	mov $0x7000, %sp
	mov $s_head, %si
	call puts

	lgdtl gdt_desc
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmp $0x18, $pm16		# 16-bit protected-mode code
pm16:
	mov $0x10, %ax			# flat 4 GiB data into FS and GS (and a 64 KiB one into DS, SS)
	mov %ax, %fs
	mov %ax, %gs
	mov $0x20, %ax
	mov %ax, %ds
	mov %ax, %ss
	mov %sp, %bx
	push %ax
	sub %sp, %bx
	pop %ax
	mov $1, %dl
	cmp $2, %bx
	jne pm_fail
	mov %cr0, %eax
	test $1, %al
	jz pm_fail
	mov $s_p16, %si
	call puts

	mov %cr0, %eax
	and $~1, %eax
	mov %eax, %cr0
	ljmp $0, $real_again
pm_fail:
	mov %dl, %bl
	jmp fail

real_again:
	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %ss
	mov %cr0, %eax
	mov $2, %bl
	test $1, %al
	jnz fail
	mov %cs, %ax
	test %ax, %ax
	jnz fail
	mov $s_real, %si
	call puts

	mov $0x00300000, %ebx
	movl $0x600dbeef, %fs:(%ebx)
	mov $0x002ffff0, %ebx
	mov $3, %dl
	cmpl $0x600dbeef, %gs:0x10(%ebx)
	jne 9f
	mov $0x00200000, %ebx
	mov $0x00040000, %ecx		# 0x200000 + 0x40000 * 4 = 0x300000
	mov $4, %dl
	cmpl $0x600dbeef, %fs:(%ebx,%ecx,4)
	jne 9f
	mov $0x20010, %ebx
	movl $0xfeedf00d, %fs:(%ebx)
	mov $0x2000, %ax
	mov %ax, %es
	mov $5, %dl
	cmpl $0xfeedf00d, %es:0x10
	jne 9f
	mov $s_unreal, %si
	call puts
	mov $s_ok, %si
	call puts
	mov $0x39, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b
9:	mov %dl, %bl
	jmp fail

# fail: prints " FAIL\n" and exits with the code in BL.
fail:
	xor %ax, %ax
	mov %ax, %ds
	mov $s_fail, %si
	call puts
	movzbl %bl, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
1:	hlt
	jmp 1b

# puts: writes the NUL-terminated string at DS:SI to COM1. Clobbers AL, DX, SI.
puts:
	mov $0x3f8, %dx
1:	movb (%si), %al
	test %al, %al
	jz 2f
	out %al, (%dx)
	inc %si
	jmp 1b
2:	ret

	.balign 8
gdt:
	.quad 0
	.quad 0x00cf9b000000ffff	# 0x08: 32-bit code (unused)
	.quad 0x00cf93000000ffff	# 0x10: data, base 0, 4 GiB
	.quad 0x00009b000000ffff	# 0x18: 16-bit code, base 0, limit 0xffff
	.quad 0x000093000000ffff	# 0x20: 16-bit data, base 0, limit 0xffff
gdt_end:
	.word 0
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
s_head:	.asciz "big real:"
s_p16:	.asciz " protected16"
s_real:	.asciz " real"
s_unreal: .asciz " unreal"
s_ok:	.asciz " ok\n"
s_fail:	.asciz " FAIL\n"
