# bench_echo: interrupt latency as a VMM's user sees it. A Multiboot (0.6.96) kernel placed with the a.out
# kludge, so tsvmm (--kernel) and QEMU (-kernel) boot the very same file. 32-bit protected mode: remaps the
# 8259s to vectors 0x20-0x2f, unmasks only IRQ 4 (COM1), enables COM1's received-data interrupt (IER bit 0,
# MCR OUT2), says "R" on COM1 and idles in `sti; hlt`. The IRQ 4 handler reads every byte waiting (LSR bit
# 0) and writes it back, then sends a non-specific EOI and returns with IRET.
# Build: buildFlat("bench_echo.S", 0x100000). Used by bench/irq.ts: a byte written to the VMM's stdin
# raises the UART's line on the host; its echo on stdout marks the guest's handler having run.
	.set MB_MAGIC, 0x1BADB002
	.set MB_FLAGS, 0x00010000		# bit 16: the a.out-kludge address fields are valid
	.set COM1, 0x3f8
	.set BSS_SIZE, 0x1000			# the IDT (2 KiB), then the stack up to bss_end

	.code32
	.text
image_start:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long image_start			# header_addr
	.long image_start			# load_addr
	.long load_end				# load_end_addr
	.long bss_end				# bss_end_addr
	.long entry				# entry_addr

entry:
	cli
	mov $bss_end, %esp
	mov $ignore, %eax
	call fill_idt
	mov $0x11, %al				# PIC ICW1: edge, cascade, ICW4 follows
	out %al, $0x20
	out %al, $0xa0
	mov $0x20, %al				# ICW2: vectors 0x20-0x27 and 0x28-0x2f
	out %al, $0x21
	mov $0x28, %al
	out %al, $0xa1
	mov $0x04, %al				# ICW3: slave on IRQ 2
	out %al, $0x21
	mov $0x02, %al
	out %al, $0xa1
	mov $0x01, %al				# ICW4: 8086 mode
	out %al, $0x21
	out %al, $0xa1
	mov $0xef, %al				# only IRQ 4
	out %al, $0x21
	mov $0xff, %al
	out %al, $0xa1
	mov $(COM1 + 1), %dx			# IER: received data available
	mov $0x01, %al
	out %al, (%dx)
	mov $(COM1 + 4), %dx			# MCR: OUT2 gates the interrupt on a PC
	mov $0x08, %al
	out %al, (%dx)
	mov $COM1, %dx
	mov $'R', %al
	out %al, (%dx)
1:	sti
	hlt
	jmp 1b

# fill_idt: every gate to `ignore`, vector 0x24 (IRQ 4) to `echo`; loads the IDT.
fill_idt:
	mov %cs, %ebx				# offset 15:0 | selector << 16, offset 31:16 | 0x8e00
	shl $16, %ebx
	mov %ax, %bx
	and $0xffff0000, %eax
	or $0x8e00, %eax
	mov $idt, %edi
	mov $256, %ecx
1:	mov %ebx, (%edi)
	mov %eax, 4(%edi)
	add $8, %edi
	loop 1b
	mov $echo, %eax
	mov %ax, idt + 0x24 * 8
	shr $16, %eax
	mov %ax, idt + 0x24 * 8 + 6
	lidt idt_descriptor
	ret

echo:
	push %eax
	push %edx
1:	mov $(COM1 + 5), %dx			# LSR: data ready?
	in (%dx), %al
	test $0x01, %al
	jz 2f
	mov $COM1, %dx
	in (%dx), %al
	out %al, (%dx)
	jmp 1b
2:	mov $0x20, %al
	out %al, $0x20
	pop %edx
	pop %eax
	iret

ignore:
	push %eax
	mov $0x20, %al				# non-specific EOI to both PICs
	out %al, $0xa0
	out %al, $0x20
	pop %eax
	iret

	.balign 4
idt_descriptor:
	.word 256 * 8 - 1
	.long idt
	.balign 8
load_end:
	.set idt, load_end
	.set bss_end, load_end + BSS_SIZE
