# multiboot_aout: a Multiboot (0.6.96) kernel that is a flat binary and says where it goes with the a.out
# kludge (header flags bit 16: header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr).
# Build: buildFlat("multiboot_aout.S", 0x100000) (the file's first byte is load_addr = 0x100000).
# Run:   tsvmm run --kernel FILE; qemu-system-x86_64 ... -kernel FILE
#
# The layout makes a careless loader fail:
#   file offset 0x00  load_addr     = 0x100000   64 bytes of text before the header
#   file offset 0x40  header_addr   = 0x100040   so header_addr != load_addr: the image starts 0x40 before it
#   file offset 0x60+ entry_addr    > load_addr  the entry is not the first byte of the image
#                     load_end_addr              the file goes on 16 bytes (0xff) past load_end_addr: a loader
#                                                must stop at load_end_addr and zero up to bss_end_addr
#                     bss_end_addr  = load_end_addr + 4 KiB (the stack lives at its top)
# Checks, in order: EAX == 0x2BADB002 at entry, else "aout: bad magic" and exit code 0x7f; running at the
# linked address, else "aout: wrong load address" and 0x7e; the 16 bytes at load_end_addr read as zero,
# else "aout: bss not zeroed" and 0x7d.
# Expected output on COM1 (one line):
#   aout: ok
# Exit: outl 0x22 to port 0xf4 -> process exit status (0x22<<1)|1 = 69.
	.set MB_MAGIC, 0x1BADB002
	.set MB_FLAGS, 0x00010000		# bit 16: the address fields below are valid
	.set MB_BOOT_MAGIC, 0x2BADB002
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0xf4
	.set BSS_SIZE, 0x1000

	.code32
	.text
image_start:					# load_addr
	.ascii "tsvmm multiboot a.out kludge test image; header at +0x40.\n"
	.org image_start + 0x40, 0
mb_header:					# header_addr
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long mb_header				# header_addr
	.long image_start			# load_addr
	.long load_end				# load_end_addr
	.long bss_end				# bss_end_addr
	.long entry				# entry_addr

entry:
	mov $bss_end, %esp			# Multiboot leaves ESP undefined
	cld
	cmp $MB_BOOT_MAGIC, %eax
	jne bad_magic
	call 1f
1:	pop %eax				# where this code really runs
	cmp $1b, %eax
	jne bad_address
	mov $load_end, %esi			# the tail of the file past load_end_addr must not be loaded
	mov 0(%esi), %eax
	or 4(%esi), %eax
	or 8(%esi), %eax
	or 12(%esi), %eax
	jnz bad_bss
	mov $s_ok, %esi
	mov $0x22, %ebx
	jmp finish
bad_magic:
	mov $s_bad_magic, %esi
	mov $0x7f, %ebx
	jmp finish
bad_address:
	mov $s_bad_address, %esi
	mov $0x7e, %ebx
	jmp finish
bad_bss:
	mov $s_bad_bss, %esi
	mov $0x7d, %ebx
finish:
	mov $COM1, %dx
1:	lodsb					# the strings end with '\n' then NUL
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	mov %ebx, %eax
	mov $DEBUG_EXIT, %dx
	outl %eax, (%dx)			# isa-debug-exit: the VM ends here
3:	hlt
	jmp 3b

s_ok:		.asciz "aout: ok\n"
s_bad_magic:	.asciz "aout: bad magic\n"
s_bad_address:	.asciz "aout: wrong load address\n"
s_bad_bss:	.asciz "aout: bss not zeroed\n"

	.balign 4
load_end:					# load_end_addr: the file goes on, the image stops here
	.fill 16, 1, 0xff
	.set bss_end, load_end + BSS_SIZE	# bss_end_addr
