# bench_idle_100hz: an idle machine with a timer armed, for the density benchmark's emulator rows. A Multiboot
# (0.6.96) kernel that is a flat binary placed with the a.out kludge, so tsvmm (--kernel) and QEMU (-kernel)
# boot the very same file.
# Build: buildFlat("bench_idle_100hz.S", 0x100000). As bench_idle.S, but the PIT's channel 0 runs at 100 Hz
# (mode 2, divisor 11932) with IRQ 0 unmasked: every tick wakes the halted vCPU, whose handler acknowledges
# it and, every 100th tick, writes "." to COM1 (so the host can see the timer run). "R" first, then
# `sti; hlt` for ever.
	.set MB_MAGIC, 0x1BADB002
	.set MB_FLAGS, 0x00010000		# bit 16: the a.out-kludge address fields are valid
	.set COM1, 0x3f8
	.set BSS_SIZE, 0x2000			# the IDT (2 KiB), the stack, the tick count

	.code32
	.text
image_start:					# load_addr, and the header too
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
	mov $stack_top, %esp
	mov $ignore, %eax			# an interrupt gate: offset 15:0 | selector << 16,
	mov %cs, %ebx				# offset 31:16 | present, DPL 0, 32-bit interrupt gate
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
	lidt idt_descriptor
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
	mov $0xfe, %al				# only IRQ 0
	out %al, $0x21
	mov $0xff, %al
	out %al, $0xa1
	mov $0x34, %al				# PIT channel 0: lobyte/hibyte, mode 2, binary
	out %al, $0x43
	mov $(11932 & 0xff), %al		# 1193182 Hz / 11932 = 100 Hz
	out %al, $0x40
	mov $(11932 >> 8), %al
	out %al, $0x40
	mov $COM1, %dx
	mov $'R', %al
	out %al, (%dx)
2:	sti
	hlt
	jmp 2b

ignore:
	push %eax
	incl ticks
	cmpl $100, ticks
	jb 1f
	movl $0, ticks
	push %edx
	mov $COM1, %dx
	mov $'.', %al
	out %al, (%dx)
	pop %edx
1:	mov $0x20, %al				# non-specific EOI to both PICs
	out %al, $0xa0
	out %al, $0x20
	pop %eax
	iret

	.balign 4
idt_descriptor:
	.word 256 * 8 - 1
	.long idt
	.balign 8
load_end:					# load_end_addr; the BSS follows
	.set idt, load_end
	.set stack_top, load_end + 0x1000	# the stack, below the first page boundary past the image
	.set ticks, stack_top + 0x100		# in the BSS, a page away from the code: a write to a page
						# holding code would drop the code decoded from it (the emulator
						# treats it as self-modifying code)
	.set bss_end, load_end + BSS_SIZE	# bss_end_addr
