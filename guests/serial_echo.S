# Serial input by interrupt: with the in-kernel PIC, COM1's received-data interrupt (IRQ 4, vector 0x0c)
# echoes each byte back; "q" ends the VM through isa-debug-exit with code 0x2a. Real mode at 0x1000;
# needs --irqchip. Prints "ready" first.
	.code16
	cli
	xor %ax, %ax
	mov %ax, %ss
	mov $0x7000, %sp
	movw $handler, 0x0c * 4		# IVT entry for vector 0x0c
	movw $0, 0x0c * 4 + 2
	mov $0x11, %al			# PIC ICW1: edge, cascade, ICW4 follows
	out %al, $0x20
	mov $0x08, %al			# ICW2: IRQ 0-7 -> vectors 0x08-0x0f
	out %al, $0x21
	mov $0x04, %al			# ICW3: slave on IRQ 2
	out %al, $0x21
	mov $0x01, %al			# ICW4: 8086 mode
	out %al, $0x21
	mov $0xef, %al			# mask everything but IRQ 4
	out %al, $0x21
	mov $0xff, %al
	out %al, $0xa1
	mov $0x3f9, %dx			# IER: received data available
	mov $0x01, %al
	out %al, (%dx)
	mov $0x3fc, %dx			# MCR: OUT2 gates the interrupt on a PC
	mov $0x08, %al
	out %al, (%dx)
	mov $0x3f8, %dx
	mov $ready, %si
1:	lodsb
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	sti
3:	hlt
	jmp 3b

handler:
	push %ax
	push %dx
4:	mov $0x3fd, %dx			# LSR: data ready?
	in (%dx), %al
	test $0x01, %al
	jz 5f
	mov $0x3f8, %dx			# RBR
	in (%dx), %al
	out %al, (%dx)			# echo
	cmp $'q', %al
	je quit
	jmp 4b
5:	mov $0x20, %al			# end of interrupt
	out %al, $0x20
	pop %dx
	pop %ax
	iret
quit:
	mov $0x2a, %al
	out %al, $0xf4

ready:	.asciz "ready\n"
