# testdev_irq: pc-testdev's IRQ-line ports (0x2000 + N: a byte V sets ISA line N to V != 0) raise
# interrupts through the 8259 pair. 32-bit protected mode, flat segments; needs the interrupt controllers:
# tsvmm run --mode protected --irqchip FILE (load 0x100000).
# The PICs are programmed with vectors 0x20 (master) and 0x28 (slave), IRQ 5 and IRQ 10 (through the
# cascade on IRQ 2) unmasked, edge-triggered. Line 5 is pulsed twice (raise, wait for the interrupt, lower)
# and line 10 once; each handler counts and sends a non-specific EOI (slave then master for IRQ 10).
# Expected output on COM1:
#   pc-testdev irq: irq5=2 irq10=1
# Exit through isa-debug-exit at 0x501: 0x32 on success (status 101); on a failure, a line "fail NN" and
# NN: 0x01-0x03 an interrupt that did not come, 0x3e an unexpected vector.
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0x501
	.set PIC1_CMD, 0x20
	.set PIC1_DATA, 0x21
	.set PIC2_CMD, 0xa0
	.set PIC2_DATA, 0xa1
	.set IRQ_LINE, 0x2000
	.set WAIT_LOOPS, 20000000

	.code32
	.text
	.globl _start
_start:
	cli
	xor %ecx, %ecx
1:	mov $unexpected, %eax
	call set_gate
	inc %ecx
	cmp $256, %ecx
	jb 1b
	mov $0x25, %ecx
	mov $irq5, %eax
	call set_gate
	mov $0x2a, %ecx
	mov $irq10, %eax
	call set_gate
	lidt idtr
	# the 8259 pair: ICW1 (edge, cascade, ICW4), ICW2 (vector base), ICW3 (cascade on IRQ 2), ICW4 (8086)
	mov $0x11, %al
	out %al, $PIC1_CMD
	out %al, $PIC2_CMD
	mov $0x20, %al
	out %al, $PIC1_DATA
	mov $0x28, %al
	out %al, $PIC2_DATA
	mov $0x04, %al
	out %al, $PIC1_DATA
	mov $0x02, %al
	out %al, $PIC2_DATA
	mov $0x01, %al
	out %al, $PIC1_DATA
	out %al, $PIC2_DATA
	mov $0xdb, %al			# master: IRQ 2 (cascade) and IRQ 5 unmasked
	out %al, $PIC1_DATA
	mov $0xfb, %al			# slave: IRQ 10 unmasked
	out %al, $PIC2_DATA
	sti

	mov $5, %edx			# line 5, first pulse
	mov $count5, %edi
	mov $1, %ebx
	mov $0x01, %cl
	call pulse
	mov $2, %ebx			# line 5 again
	mov $0x02, %cl
	call pulse
	mov $10, %edx			# line 10, through the slave
	mov $count10, %edi
	mov $1, %ebx
	mov $0x03, %cl
	call pulse
	cli

	mov $s_irq5, %esi
	call puts
	mov count5, %eax
	call putdigit
	mov $s_irq10, %esi
	call puts
	mov count10, %eax
	call putdigit
	mov $s_nl, %esi
	call puts
	mov $0x32, %al
	mov $DEBUG_EXIT, %dx
	out %al, (%dx)
	hlt

# pulse: raises ISA line EDX through pc-testdev, waits until the counter at EDI reaches EBX, lowers the
# line. CL: the failure number if the interrupt does not come.
pulse:
	push %edx
	add $IRQ_LINE, %edx
	mov $1, %al
	out %al, (%dx)
	mov $WAIT_LOOPS, %eax
1:	cmp %ebx, (%edi)
	je 2f
	dec %eax
	jnz 1b
	mov %cl, %al
	jmp fail
2:	xor %al, %al
	out %al, (%dx)
	pop %edx
	ret

irq5:
	incl count5
	push %eax
	mov $0x20, %al
	out %al, $PIC1_CMD
	pop %eax
	jmp irq_return

irq10:
	incl count10
	push %eax
	mov $0x20, %al
	out %al, $PIC2_CMD
	out %al, $PIC1_CMD
	pop %eax
	jmp irq_return

unexpected:
	mov $0x3e, %al
	jmp fail

# irq_return: returns from an interrupt taken at CPL 0 with IF set without IRET (a nested KVM that emulates
# ring-0 code may implement IRET in real mode only). The frame is EIP, CS, EFLAGS; it becomes EFLAGS with
# IF clear, EIP, EIP: POPF restores the interrupted flags, STI's shadow covers RET, and RET 4 drops the copy.
irq_return:
	push %eax			# [0] EAX, [4] EIP, [8] CS, [12] EFLAGS
	mov 4(%esp), %eax
	mov %eax, 8(%esp)		# CS slot: EIP
	mov 12(%esp), %eax
	and $~0x200, %eax
	mov %eax, 4(%esp)		# EIP slot: EFLAGS without IF
	mov 8(%esp), %eax
	mov %eax, 12(%esp)		# EFLAGS slot: EIP
	pop %eax
	popf
	sti
	ret $4

fail:	movzbl %al, %ebx
	mov $s_fail, %esi
	call puts
	mov %bl, %al
	shr $4, %al
	call puthexdigit
	mov %bl, %al
	call puthexdigit
	mov $s_nl, %esi
	call puts
	mov %bl, %al
	mov $DEBUG_EXIT, %dx
	out %al, (%dx)
	hlt

# set_gate: IDT entry ECX becomes a 32-bit interrupt gate (selector 0x08, DPL 0) to EAX.
set_gate:
	lea idt(,%ecx,8), %edx
	mov %ax, (%edx)
	movw $0x08, 2(%edx)
	movw $0x8e00, 4(%edx)
	mov %eax, %esi
	shr $16, %esi
	mov %si, 6(%edx)
	ret

puts:	push %edx
	mov $COM1, %dx
1:	lodsb
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	pop %edx
	ret

putdigit:
	add $'0', %al
	mov $COM1, %dx
	out %al, (%dx)
	ret

puthexdigit:
	and $0xf, %al
	add $'0', %al
	cmp $'9', %al
	jbe 1f
	add $('a' - '9' - 1), %al
1:	mov $COM1, %dx
	out %al, (%dx)
	ret

	.data
s_irq5:	.asciz "pc-testdev irq: irq5="
s_irq10: .asciz " irq10="
s_fail:	.asciz "fail "
s_nl:	.asciz "\n"
	.balign 4
count5:	.long 0
count10: .long 0
idtr:	.word 256 * 8 - 1
	.long idt
	.balign 8
idt:	.fill 256 * 8, 1, 0
