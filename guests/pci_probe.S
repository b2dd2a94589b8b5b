# pci_probe: QEMU's test devices as a guest written for QEMU finds them. 32-bit protected mode, flat
# segments, no paging. Build: buildFlat("pci_probe.S", 0x100000); run: tsvmm run --mode protected FILE.
# 1. Scans PCI bus 0 through configuration mechanism #1 (CONFIG_ADDRESS 0xcf8 as a dword, CONFIG_DATA at
#    0xcfc-0xcff as bytes, words and dwords) for the host bridge (8086:1237) and pci-testdev (1b36:0005).
# 2. Turns pci-testdev's decoding off, sizes BAR0 and BAR1 (all ones written, the mask read back), assigns
#    BAR0 = 0xe0000000 and BAR1 = 0xd000, and turns memory and I/O decoding on.
# 3. Runs the three tests of each BAR the way kvm-unit-tests' pci_testdev() does: select test N at offset
#    0, read the width, offset and data, write the data 16 times at the offset, read the hit counter (16).
# 4. pc-testdev: the data register at 0xe0 written and read back at widths 1, 2 and 4 (0xe8 too), a page
#    flush through 0xe4, and the MMIO window at 0xff000000 read back.
# Expected output on COM1:
#   pci: host 8086:1237 testdev 00:01.0 bar0 fffff000 size 00001000 bar1 ffffff01 size 00000100
#   pci-testdev mem: mmio-no-eventfd mmio-wildcard-eventfd mmio-datamatch-eventfd
#   pci-testdev io: portio-no-eventfd portio-wildcard-eventfd portio-datamatch-eventfd
#   pc-testdev: ok
# Exit through isa-debug-exit at QEMU's default port 0x501: 0x31 when all passed (status 99); on a
# failure, the failing check's number (0x01-0x2f) after a line "fail NN".
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0x501
	.set CONFIG_ADDRESS, 0xcf8
	.set CONFIG_DATA, 0xcfc
	.set BAR0_ADDR, 0xe0000000
	.set BAR1_ADDR, 0xd000
	.set TESTDEV_DATA, 0xe0
	.set TESTDEV_FLUSH, 0xe4
	.set TESTDEV_DATA_BYTE, 0xe8
	.set TESTDEV_IOMEM, 0xff000000

	.code32
	.text
	.globl _start
_start:
	cld
	# --- the host bridge at 00:00.0
	xor %ebx, %ebx
	xor %ecx, %ecx
	call cfg_read32
	cmp $0x12378086, %eax
	mov $0x01, %al
	jne fail
	# --- find pci-testdev
	mov $1, %ebx
1:	xor %ecx, %ecx
	call cfg_read32
	cmp $0x00051b36, %eax
	je 2f
	inc %ebx
	cmp $32, %ebx
	jb 1b
	mov $0x02, %al
	jmp fail
2:	mov %ebx, slot
	# the device ID again as a word at 0xcfe, the class as bytes, the header type (0) as a byte
	mov $2, %ecx
	call cfg_addr
	mov $CONFIG_DATA+2, %dx
	in (%dx), %ax
	cmp $0x0005, %ax
	mov $0x03, %al
	jne fail
	mov $0x0b, %ecx
	call cfg_addr
	mov $CONFIG_DATA+3, %dx
	in (%dx), %al
	cmp $0xff, %al
	mov $0x04, %al
	jne fail
	mov $0x0e, %ecx
	call cfg_addr
	mov $CONFIG_DATA+2, %dx
	in (%dx), %al
	test %al, %al
	mov $0x05, %al
	jne fail
	# --- decoding off (a word write of 0 to the command register), then size the BARs
	mov $4, %ecx
	call cfg_addr
	mov $CONFIG_DATA, %dx
	xor %eax, %eax
	out %ax, (%dx)
	mov $0x10, %ecx
	mov $0xffffffff, %eax
	call cfg_write32
	call cfg_read32
	mov %eax, bar0_mask
	mov $0x14, %ecx
	mov $0xffffffff, %eax
	call cfg_write32
	call cfg_read32
	mov %eax, bar1_mask
	mov bar0_mask, %eax
	test $1, %eax			# memory BAR
	mov $0x06, %al
	jnz fail
	mov bar0_mask, %eax
	and $0xfffffff0, %eax
	not %eax
	inc %eax
	mov %eax, bar0_size
	cmp $0x1000, %eax
	mov $0x07, %al
	jne fail
	mov bar1_mask, %eax
	test $1, %eax			# I/O BAR
	mov $0x08, %al
	jz fail
	mov bar1_mask, %eax
	and $0xfffffffc, %eax
	not %eax
	inc %eax
	movzwl %ax, %eax
	mov %eax, bar1_size
	cmp $0x100, %eax
	mov $0x09, %al
	jne fail
	# --- assign, read back, enable memory and I/O decoding (a byte write to the command register)
	mov $0x10, %ecx
	mov $BAR0_ADDR, %eax
	call cfg_write32
	call cfg_read32
	cmp $BAR0_ADDR, %eax
	mov $0x0a, %al
	jne fail
	mov $0x14, %ecx
	mov $BAR1_ADDR, %eax
	call cfg_write32
	call cfg_read32
	cmp $BAR1_ADDR|1, %eax
	mov $0x0b, %al
	jne fail
	mov $4, %ecx
	call cfg_addr
	mov $CONFIG_DATA, %dx
	mov $3, %al
	out %al, (%dx)
	mov $4, %ecx
	call cfg_read32
	and $3, %eax
	cmp $3, %eax
	mov $0x0c, %al
	jne fail
	# --- report what was found
	mov $s_pci, %esi
	call puts
	mov slot, %eax
	call puthex2
	mov $s_bar0, %esi
	call puts
	mov bar0_mask, %eax
	call puthex8
	mov $s_size, %esi
	call puts
	mov bar0_size, %eax
	call puthex8
	mov $s_bar1, %esi
	call puts
	mov bar1_mask, %eax
	call puthex8
	mov $s_size, %esi
	call puts
	mov bar1_size, %eax
	call puthex8
	mov $s_nl, %esi
	call puts
	# --- the memory BAR's tests
	mov $s_mem, %esi
	call puts
	xor %edi, %edi			# test number
3:	mov $BAR0_ADDR, %ebp
	mov %edi, %eax
	movb %al, (%ebp)		# select
	mov 12(%ebp), %eax		# count (a dword: read as four bytes)
	test %eax, %eax
	mov $0x10, %al
	jnz fail
	cmpb $1, 1(%ebp)		# width
	mov $0x11, %al
	jne fail
	movzbl 8(%ebp), %eax		# data
	mov 4(%ebp), %ecx		# offset
	mov $16, %edx
4:	movb %al, (%ebp,%ecx)
	dec %edx
	jnz 4b
	mov 12(%ebp), %eax
	cmp $16, %eax
	mov $0x12, %al
	jne fail
	mov $' ', %al
	call putc
	lea 16(%ebp), %esi
	call puts_mmio
	inc %edi
	cmp $3, %edi
	jb 3b
	movb $3, (%ebp)			# no such test: the header reads as zeros
	cmpl $0, 4(%ebp)
	mov $0x13, %al
	jne fail
	mov $s_nl, %esi
	call puts
	# --- the I/O BAR's tests
	mov $s_io, %esi
	call puts
	xor %edi, %edi
5:	mov $BAR1_ADDR, %dx
	mov %edi, %eax
	out %al, (%dx)
	add $12, %dx
	in (%dx), %eax
	test %eax, %eax
	mov $0x14, %al
	jnz fail
	mov $BAR1_ADDR+1, %dx
	in (%dx), %al
	cmp $1, %al
	mov $0x15, %al
	jne fail
	mov $BAR1_ADDR+4, %dx
	in (%dx), %eax
	mov %eax, %ecx			# offset
	mov $BAR1_ADDR+8, %dx
	in (%dx), %al			# data
	lea BAR1_ADDR(%ecx), %edx
	mov $16, %ecx
6:	out %al, (%dx)
	dec %ecx
	jnz 6b
	mov $BAR1_ADDR+12, %dx
	in (%dx), %eax
	cmp $16, %eax
	mov $0x16, %al
	jne fail
	mov $' ', %al
	call putc
	mov $BAR1_ADDR+16, %ebx
7:	mov %bx, %dx
	in (%dx), %al
	test %al, %al
	jz 8f
	call putc
	inc %ebx
	jmp 7b
8:	inc %edi
	cmp $3, %edi
	jb 5b
	mov $s_nl, %esi
	call puts
	# --- pc-testdev: the data register at every width
	mov $TESTDEV_DATA, %dx
	mov $0x12345678, %eax
	out %eax, (%dx)
	in (%dx), %eax
	cmp $0x12345678, %eax
	mov $0x20, %al
	jne fail
	in (%dx), %al
	cmp $0x78, %al
	mov $0x21, %al
	jne fail
	mov $TESTDEV_DATA+3, %dx
	in (%dx), %al
	cmp $0x12, %al
	mov $0x22, %al
	jne fail
	mov $TESTDEV_DATA+2, %dx
	in (%dx), %ax
	cmp $0x1234, %ax
	mov $0x23, %al
	jne fail
	mov $TESTDEV_DATA+1, %dx
	mov $0xab, %al
	out %al, (%dx)
	mov $TESTDEV_DATA+2, %dx
	mov $0xcdef, %ax
	out %ax, (%dx)
	mov $TESTDEV_DATA, %dx
	in (%dx), %eax
	cmp $0xcdefab78, %eax
	mov $0x24, %al
	jne fail
	mov $TESTDEV_DATA, %dx
	in (%dx), %ax
	cmp $0xab78, %ax
	mov $0x25, %al
	jne fail
	mov $TESTDEV_DATA_BYTE, %dx	# the same register, served a byte at a time
	in (%dx), %eax
	cmp $0xcdefab78, %eax
	mov $0x26, %al
	jne fail
	# a page flush changes nothing the guest can see
	movl $0x5a5a5a5a, flush_probe
	mov $TESTDEV_FLUSH, %dx
	mov $flush_probe, %eax
	out %eax, (%dx)
	cmpl $0x5a5a5a5a, flush_probe
	mov $0x27, %al
	jne fail
	# the MMIO window
	mov $TESTDEV_IOMEM, %ebp
	movl $0x89abcdef, 0x100(%ebp)
	movw $0x4455, 0x106(%ebp)
	movb $0x66, 0x105(%ebp)
	cmpl $0x89abcdef, 0x100(%ebp)
	mov $0x28, %al
	jne fail
	cmpw $0x6600, 0x104(%ebp)
	jne 9f
	cmpb $0x55, 0x106(%ebp)
	je 10f
9:	mov $0x29, %al
	jmp fail
10:	mov $s_ok, %esi
	call puts
	mov $DEBUG_EXIT, %dx
	mov $0x31, %al
	out %al, (%dx)
	hlt

# fail: AL = check number; prints "fail NN" and exits with it.
fail:	movzbl %al, %edi
	mov $s_fail, %esi
	call puts
	mov %edi, %eax
	call puthex2
	mov $s_nl, %esi
	call puts
	mov %edi, %eax
	mov $DEBUG_EXIT, %dx
	out %al, (%dx)
	hlt

# cfg_addr: CONFIG_ADDRESS <- enable | EBX (device) << 11 | ECX (register) & 0xfc. Keeps EAX.
cfg_addr:
	push %eax
	push %edx
	mov %ebx, %eax
	shl $11, %eax
	or $0x80000000, %eax
	mov %ecx, %edx
	and $0xfc, %edx
	or %edx, %eax
	mov $CONFIG_ADDRESS, %dx
	out %eax, (%dx)
	pop %edx
	pop %eax
	ret

# cfg_read32: EAX <- dword register ECX of device EBX.
cfg_read32:
	call cfg_addr
	push %edx
	mov $CONFIG_DATA, %dx
	in (%dx), %eax
	pop %edx
	ret

# cfg_write32: dword register ECX of device EBX <- EAX.
cfg_write32:
	call cfg_addr
	push %edx
	mov $CONFIG_DATA, %dx
	out %eax, (%dx)
	pop %edx
	ret

putc:	push %edx
	mov $COM1, %dx
	out %al, (%dx)
	pop %edx
	ret

puts:	push %eax
1:	lodsb
	test %al, %al
	jz 2f
	call putc
	jmp 1b
2:	pop %eax
	ret

# puts_mmio: a NUL-terminated string read a byte at a time from MMIO at ESI.
puts_mmio:
	push %eax
1:	movb (%esi), %al
	test %al, %al
	jz 2f
	call putc
	inc %esi
	jmp 1b
2:	pop %eax
	ret

# puthex8 / puthex2: EAX as 8 or 2 lowercase hex digits.
puthex8:
	mov $8, %ecx
	jmp puthex
puthex2:
	shl $24, %eax
	mov $2, %ecx
puthex:	push %ebx
	mov %eax, %ebx
1:	rol $4, %ebx
	mov %ebx, %eax
	and $0xf, %eax
	movb hexdigits(%eax), %al
	call putc
	dec %ecx
	jnz 1b
	pop %ebx
	ret

	.data
hexdigits: .ascii "0123456789abcdef"
s_pci:	.asciz "pci: host 8086:1237 testdev 00:"
s_bar0:	.asciz ".0 bar0 "
s_bar1:	.asciz " bar1 "
s_size:	.asciz " size "
s_mem:	.asciz "pci-testdev mem:"
s_io:	.asciz "pci-testdev io:"
s_ok:	.asciz "pc-testdev: ok\n"
s_fail:	.asciz "fail "
s_nl:	.asciz "\n"
	.balign 4
slot:	.long 0
bar0_mask: .long 0
bar1_mask: .long 0
bar0_size: .long 0
bar1_size: .long 0
	.balign 4096
flush_probe: .long 0
