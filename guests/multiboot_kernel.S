# multiboot_kernel: a Multiboot (0.6.96) ELF32 kernel linked at 1 MiB that prints what its boot loader told it.
# Build: buildElf("multiboot_kernel.S", "multiboot_kernel.ld", "elf32").
# Run:   tsvmm run --kernel FILE [--append ARGS] [--module FILE[,ARGS]]...
#        qemu-system-x86_64 ... -kernel FILE -append ARGS -initrd "MODFILE ARGS"
# Header (in the first 8 KiB of the file): magic 0x1BADB002, flags 0x00000003 (bit 0: page-align modules,
# bit 1: memory information), checksum 0xE4524FFB. It is an ELF kernel: no a.out kludge (flags bit 16).
#
# Output on COM1, one line each, in this order:
#   cmdline: <the NUL-terminated string at cmdline>     ("cmdline: (none)" if flags bit 2 is clear)
#   mem: lower=<mem_lower> upper=<mem_upper>            (decimal KiB; "mem: none" if flags bit 0 is clear)
#   module0: <module 0's bytes>                         (if flags bit 3 is set and mods_count > 0)
#   modules: none                                       (otherwise, instead of the module0 line)
#   mods: <mods_count>                                  (decimal; 0 if flags bit 3 is clear)
#   mmap: base=<base_addr> len=<length> type=<type>     (one per memory map entry, in order; base_addr and
#                                                        length as 16 lowercase hex digits, type decimal)
#   mmap: none                                          (if flags bit 6 is clear, instead of the mmap lines)
# module0 prints the bytes [mod_start, mod_end) raw, at most 256 of them, without a final '\n' if the
# module ends with one (the line's own '\n' follows). The cmdline line shows the string exactly as passed:
# tsvmm passes --append as is (an empty string without --append: "cmdline: " with a trailing space), while
# GRUB and QEMU put the kernel's path first (QEMU: "cmdline: k.elf hello world").
# Exit: outl 0x21 to port 0xf4 -> process exit status (0x21<<1)|1 = 67.
# If EAX is not 0x2BADB002 at entry it prints "bad magic" and exits with 0x7f (status 255).
#
# Example, tsvmm (128 MiB): --append "hello world" --module module.txt,"modarg1 modarg2" --module m2.txt,
# module.txt holding "hello module\n":
#   cmdline: hello world
#   mem: lower=639 upper=130048
#   module0: hello module
#   mods: 2
#   mmap: base=0000000000000000 len=000000000009fc00 type=1
#   mmap: base=000000000009fc00 len=0000000000060400 type=2
#   mmap: base=0000000000100000 len=0000000007f00000 type=1
# The same under QEMU 7.2 (-m 128M, -append "hello world" -initrd "module.txt modarg1 modarg2,m2.txt"):
#   cmdline: multiboot_kernel.elf hello world
#   mem: lower=639 upper=129920
#   module0: hello module
#   mods: 2
#   mmap: base=0000000000000000 len=000000000009fc00 type=1
#   mmap: base=000000000009fc00 len=0000000000000400 type=2
#   mmap: base=00000000000f0000 len=0000000000010000 type=2
#   mmap: base=0000000000100000 len=0000000007ee0000 type=1
#   mmap: base=0000000007fe0000 len=0000000000020000 type=2
#   mmap: base=00000000feffc000 len=0000000000004000 type=2
#   mmap: base=00000000fffc0000 len=0000000000040000 type=2
#   mmap: base=000000fd00000000 len=0000000300000000 type=2
	.set MB_MAGIC, 0x1BADB002
	.set MB_FLAGS, 0x00000003
	.set MB_BOOT_MAGIC, 0x2BADB002
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0xf4
	.set MODULE_PRINT_MAX, 256

	# struct multiboot_info offsets
	.set MBI_FLAGS, 0
	.set MBI_MEM_LOWER, 4
	.set MBI_MEM_UPPER, 8
	.set MBI_CMDLINE, 16
	.set MBI_MODS_COUNT, 20
	.set MBI_MODS_ADDR, 24
	.set MBI_MMAP_LENGTH, 44
	.set MBI_MMAP_ADDR, 48

	.section .multiboot, "a"
	.balign 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.code32
	.text
	.globl _start
_start:
	mov $stack_top, %esp		# Multiboot leaves ESP undefined
	cld
	cmp $MB_BOOT_MAGIC, %eax
	jne bad_magic
	mov %ebx, %ebp			# EBP = struct multiboot_info * for the whole run

	# cmdline: <string>
	mov $s_cmdline, %esi
	call puts
	mov $s_none, %esi
	testl $1 << 2, MBI_FLAGS(%ebp)
	jz 1f
	mov MBI_CMDLINE(%ebp), %esi
1:	call puts
	call newline

	# mem: lower=N upper=N
	testl $1 << 0, MBI_FLAGS(%ebp)
	jnz 1f
	mov $s_mem_none, %esi
	call puts
	jmp 2f
1:	mov $s_mem_lower, %esi
	call puts
	mov MBI_MEM_LOWER(%ebp), %eax
	call putdec
	mov $s_mem_upper, %esi
	call puts
	mov MBI_MEM_UPPER(%ebp), %eax
	call putdec
2:	call newline

	# module0: <bytes>, or modules: none
	xor %edi, %edi			# EDI = mods_count (0 without flags bit 3)
	testl $1 << 3, MBI_FLAGS(%ebp)
	jz 1f
	mov MBI_MODS_COUNT(%ebp), %edi
1:	test %edi, %edi
	jnz 1f
	mov $s_mods_none, %esi
	call puts
	jmp 3f
1:	mov $s_module0, %esi
	call puts
	mov MBI_MODS_ADDR(%ebp), %ebx
	mov 0(%ebx), %esi		# mod_start
	mov 4(%ebx), %ecx		# mod_end (exclusive)
	sub %esi, %ecx
	jbe 3f				# empty (or inverted) module: nothing to print
	cmpb $'\n', -1(%esi,%ecx)
	jne 1f
	dec %ecx			# drop one trailing newline
1:	cmp $MODULE_PRINT_MAX, %ecx
	jbe 2f
	mov $MODULE_PRINT_MAX, %ecx
2:	mov $COM1, %dx
	jecxz 3f
1:	lodsb
	out %al, (%dx)
	loop 1b
3:	call newline

	# mods: N
	mov $s_mods, %esi
	call puts
	mov %edi, %eax
	call putdec
	call newline

	# mmap: base=X len=X type=N, one line per entry
	testl $1 << 6, MBI_FLAGS(%ebp)
	jnz 1f
	mov $s_mmap_none, %esi
	call puts
	call newline
	jmp done
1:	mov MBI_MMAP_ADDR(%ebp), %edi	# EDI = current entry (its size field)
	mov MBI_MMAP_LENGTH(%ebp), %ebp
	add %edi, %ebp			# EBP = end of the map
next_entry:
	cmp %ebp, %edi
	jae done
	mov $s_mmap_base, %esi
	call puts
	mov 8(%edi), %eax		# base_addr, high half
	call puthex8
	mov 4(%edi), %eax		# base_addr, low half
	call puthex8
	mov $s_mmap_len, %esi
	call puts
	mov 16(%edi), %eax		# length, high half
	call puthex8
	mov 12(%edi), %eax		# length, low half
	call puthex8
	mov $s_mmap_type, %esi
	call puts
	mov 20(%edi), %eax		# type
	call putdec
	call newline
	mov (%edi), %eax		# size: of the entry, not counting the size field itself
	lea 4(%edi,%eax), %edi
	jmp next_entry

done:
	mov $0x21, %eax
	jmp exit

bad_magic:
	mov $s_bad_magic, %esi
	call puts
	call newline
	mov $0x7f, %eax
exit:
	mov $DEBUG_EXIT, %dx
	outl %eax, (%dx)		# isa-debug-exit: the VM ends here
1:	hlt
	jmp 1b

# puts: writes the NUL-terminated string at ESI to COM1. Clobbers EAX, EDX, ESI.
puts:
	mov $COM1, %dx
1:	lodsb
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	ret

# newline: writes '\n' to COM1. Clobbers EAX, EDX.
newline:
	mov $'\n', %al
	mov $COM1, %dx
	out %al, (%dx)
	ret

# puthex8: writes EAX as 8 lowercase hex digits. Clobbers EAX, EBX, ECX, EDX.
puthex8:
	mov %eax, %ebx
	mov $32, %ecx
	mov $COM1, %dx
1:	sub $4, %ecx
	mov %ebx, %eax
	shr %cl, %eax
	and $0xf, %eax
	movb hexdigits(%eax), %al
	out %al, (%dx)
	test %ecx, %ecx
	jnz 1b
	ret

# putdec: writes EAX in decimal. Clobbers EAX, EBX, ECX, EDX.
putdec:
	mov $10, %ecx
	xor %ebx, %ebx
1:	xor %edx, %edx
	div %ecx
	push %edx			# digits come out least significant first
	inc %ebx
	test %eax, %eax
	jnz 1b
	mov $COM1, %dx
2:	pop %eax
	add $'0', %al
	out %al, (%dx)
	dec %ebx
	jnz 2b
	ret

	.section .rodata
hexdigits:	.ascii "0123456789abcdef"
s_cmdline:	.asciz "cmdline: "
s_none:		.asciz "(none)"
s_mem_lower:	.asciz "mem: lower="
s_mem_upper:	.asciz " upper="
s_mem_none:	.asciz "mem: none"
s_module0:	.asciz "module0: "
s_mods_none:	.asciz "modules: none"
s_mods:		.asciz "mods: "
s_mmap_base:	.asciz "mmap: base="
s_mmap_len:	.asciz " len="
s_mmap_type:	.asciz " type="
s_mmap_none:	.asciz "mmap: none"
s_bad_magic:	.asciz "bad magic"

	.bss
	.balign 16
stack:	.skip 4096
stack_top:
