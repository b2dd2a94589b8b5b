# bench_irq: interrupt latency. Real mode at 0x1000, needs the in-kernel irqchip. Programs the master PIC
# (IRQ 0-7 -> vectors 0x08-0x0f), unmasks only IRQ 5 (vector 0x0d, unused on a PC/AT), then loops: with
# interrupts off, OUT to the "ready" port 0xe0 (the host raises IRQ 5 while handling that exit), then
# `sti; hlt`: the STI shadow makes the pending interrupt arrive once HLT has begun, so every interrupt
# wakes a halted vCPU and returns after the HLT. The handler OUTs to the "ack" port 0xe1 (the host's
# timestamp), sends a non-specific EOI and returns.
	.code16
	.set READY_PORT, 0xe0
	.set ACK_PORT, 0xe1
	.set VECTOR, 0x0d
	cli
	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %ss
	mov $0x7000, %sp
	movw $handler, VECTOR * 4	# IVT entry for vector 0x0d
	movw $0, VECTOR * 4 + 2
	mov $0x11, %al			# PIC ICW1: edge, cascade, ICW4 follows
	out %al, $0x20
	mov $0x08, %al			# ICW2: IRQ 0-7 -> vectors 0x08-0x0f
	out %al, $0x21
	mov $0x04, %al			# ICW3: slave on IRQ 2
	out %al, $0x21
	mov $0x01, %al			# ICW4: 8086 mode
	out %al, $0x21
	mov $0xdf, %al			# mask everything but IRQ 5
	out %al, $0x21
	mov $0xff, %al			# and the whole slave
	out %al, $0xa1
1:	cli
	out %al, $READY_PORT
	sti
	hlt
	jmp 1b

handler:
	out %al, $ACK_PORT
	push %ax
	mov $0x20, %al			# non-specific end of interrupt
	out %al, $0x20
	pop %ax
	iret
