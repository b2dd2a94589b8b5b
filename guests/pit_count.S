# pit_count: counts PIT channel 0 interrupts at 100 Hz during one RTC second, first through the 8259 PIC,
# then through the IOAPIC and the local APIC.
# Build: buildFlat("pit_count.S", 0x100000); run: tsvmm run --mode protected --irqchip FILE.
# The PIT runs in mode 2 with divisor 11932 (1193182 Hz / 11932 = 99.998 Hz). Each phase waits for the
# CMOS seconds register to change, then counts ticks until it changes again, so one phase takes between one
# and two seconds of wall time.
#   Phase 1: PIC (ICW1-4: IRQ 0-7 -> vectors 0x20-0x27, IRQ 8-15 -> 0x28-0x2f), only IRQ 0 unmasked, EOI
#            0x20 to port 0x20.
#   Phase 2: both PICs masked, local APIC software-enabled (SVR = 0x1ff), IOAPIC pin 0 -> vector 0x30
#            (fixed, physical, edge, active high, destination APIC ID 0), EOI to the LAPIC EOI register.
#
# Expected output on COM1 (n: decimal tick counts, about 100 each):
#   pic: <n> ticks/s
#   ioapic: <n> ticks/s
# Exit: outl 0x40 to isa-debug-exit -> process exit status 129.
# Handlers return without IRET (see interrupt_return). Any other vector (an exception, a stray interrupt) prints "unexpected vector 0x<hh>" (two lowercase hex
# digits) and exits with code 0x4f (status 159).
	.code32
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0xf4
	.set PIC1_CMD, 0x20
	.set PIC1_DATA, 0x21
	.set PIC2_CMD, 0xa0
	.set PIC2_DATA, 0xa1
	.set PIT_CH0, 0x40
	.set PIT_CMD, 0x43
	.set PIT_DIVISOR, 11932
	.set CMOS_INDEX, 0x70
	.set CMOS_DATA, 0x71
	.set RTC_SECONDS, 0x00
	.set LAPIC_SVR, 0xfee000f0
	.set LAPIC_EOI, 0xfee000b0
	.set IOREGSEL, 0xfec00000
	.set IOWIN, 0xfec00010
	.set IOAPIC_REDTBL0, 0x10
	.set VEC_PIC_IRQ0, 0x20
	.set VEC_IOAPIC_PIN0, 0x30

	.text
	.globl _start
_start:
	cli
	# Every IDT entry starts as a 32-bit interrupt gate to its "unexpected" stub.
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $4, %eax
	add $stubs, %eax
	call set_gate
	inc %ecx
	cmp $256, %ecx
	jb 1b
	mov $VEC_PIC_IRQ0, %ecx
	mov $pic_tick, %eax
	call set_gate
	mov $VEC_IOAPIC_PIN0, %ecx
	mov $ioapic_tick, %eax
	call set_gate
	lidt idtr

	# PIT channel 0: lobyte/hibyte access, mode 2 (rate generator), binary.
	mov $0x34, %al
	out %al, $PIT_CMD
	mov $(PIT_DIVISOR & 0xff), %al
	out %al, $PIT_CH0
	mov $(PIT_DIVISOR >> 8), %al
	out %al, $PIT_CH0

	# Phase 1: the 8259 pair, master at vector 0x20, slave at 0x28, only IRQ 0 unmasked.
	mov $0x11, %al			# ICW1: edge, cascade, ICW4 follows
	out %al, $PIC1_CMD
	out %al, $PIC2_CMD
	mov $0x20, %al			# ICW2: vector base
	out %al, $PIC1_DATA
	mov $0x28, %al
	out %al, $PIC2_DATA
	mov $0x04, %al			# ICW3: slave on master IRQ 2
	out %al, $PIC1_DATA
	mov $0x02, %al			# ICW3: slave identity 2
	out %al, $PIC2_DATA
	mov $0x01, %al			# ICW4: 8086 mode
	out %al, $PIC1_DATA
	out %al, $PIC2_DATA
	mov $0xfe, %al			# unmask IRQ 0 only
	out %al, $PIC1_DATA
	mov $0xff, %al
	out %al, $PIC2_DATA
	call count_one_second
	mov $s_pic, %esi
	call report

	# Phase 2: the IOAPIC. The PICs are masked, so the only path left for the PIT is IOAPIC pin 0.
	mov $0xff, %al
	out %al, $PIC1_DATA
	out %al, $PIC2_DATA
	movl $0x1ff, LAPIC_SVR		# software-enable the local APIC, spurious vector 0xff
	movl $(IOAPIC_REDTBL0 + 1), IOREGSEL
	movl $0, IOWIN			# high dword: destination APIC ID 0
	movl $IOAPIC_REDTBL0, IOREGSEL
	movl $VEC_IOAPIC_PIN0, IOWIN	# low dword: fixed, physical, edge, active high, unmasked
	call count_one_second
	mov $s_ioapic, %esi
	call report

	mov $0x40, %eax
	out %eax, $DEBUG_EXIT
2:	hlt
	jmp 2b

# count_one_second: enables interrupts, waits for the RTC seconds register to change, zeroes the tick count,
# waits for the next change, disables interrupts. Returns the ticks counted in EAX. Clobbers EBX, EDX.
count_one_second:
	call rtc_seconds
	mov %al, %bl
	sti
1:	call rtc_seconds
	cmp %al, %bl
	je 1b
	movl $0, ticks
	mov %al, %bl
2:	call rtc_seconds
	cmp %al, %bl
	je 2b
	cli
	mov ticks, %eax
	ret

# rtc_seconds: the CMOS seconds register in AL (the index goes out to 0x70, the value comes in from 0x71).
rtc_seconds:
	mov $RTC_SECONDS, %al
	out %al, $CMOS_INDEX
	in $CMOS_DATA, %al
	ret

pic_tick:
	push %eax
	incl ticks
	mov $0x20, %al			# non-specific EOI
	out %al, $PIC1_CMD
	pop %eax
	jmp interrupt_return

ioapic_tick:
	incl ticks
	movl $0, LAPIC_EOI
	jmp interrupt_return

# interrupt_return: IRET without IRET. This host's KVM emulates ring-0 code, and its instruction emulator
# implements IRET in real mode only (a protected-mode IRET ends in KVM_INTERNAL_ERROR_EMULATION). The
# handlers here only interrupt ring-0 code at CPL 0 with IF set, so the frame is EIP, CS (unchanged),
# EFLAGS: rewrite it into EFLAGS-without-IF, EIP, restore the flags (the interrupted code may sit between
# a CMP and its Jcc), then STI and RET. An interrupt taken between STI and RET nests below the EIP and
# returns to the RET, so the frame survives either way.
interrupt_return:
	push %eax
	mov 4(%esp), %eax		# the interrupted EIP
	push %ebx
	mov 16(%esp), %ebx		# its EFLAGS
	mov %eax, 16(%esp)		# EIP where EFLAGS was
	and $~0x200, %ebx		# IF clear until the STI below
	mov %ebx, 12(%esp)		# EFLAGS where CS was
	pop %ebx
	pop %eax
	lea 4(%esp), %esp		# drop the old EIP slot (LEA leaves the flags alone)
	popf
	sti
	ret

# report: prints the string at ESI, EAX in decimal, then " ticks/s\n".
report:
	push %eax
	call puts
	pop %eax
	call putdec
	mov $s_ticks, %esi
	jmp puts

# set_gate: IDT entry ECX becomes a 32-bit interrupt gate (DPL 0, selector 0x08) to the handler at EAX.
set_gate:
	lea idt(,%ecx,8), %edx
	mov %ax, (%edx)
	movw $0x08, 2(%edx)
	movw $0x8e00, 4(%edx)		# present, DPL 0, 32-bit interrupt gate
	shr $16, %eax
	mov %ax, 6(%edx)
	ret

# puts: the NUL-terminated string at ESI to COM1. Clobbers EAX, EDX, ESI.
puts:
	mov $COM1, %dx
1:	lodsb
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	ret

# putdec: EAX as unsigned decimal to COM1. Clobbers EAX, ECX, EDX.
putdec:
	xor %ecx, %ecx
1:	xor %edx, %edx
	push %ebx
	mov $10, %ebx
	div %ebx
	pop %ebx
	push %edx			# digits come out least significant first
	inc %ecx
	test %eax, %eax
	jnz 1b
	mov $COM1, %dx
2:	pop %eax
	add $'0', %al
	out %al, (%dx)
	loop 2b
	ret

# unexpected: the stubs push their vector and come here.
unexpected:
	mov $s_unexpected, %esi
	call puts
	pop %ebx
	mov %ebx, %eax
	shr $4, %eax
	and $0xf, %eax
	movb hexdigits(%eax), %al
	out %al, (%dx)
	mov %ebx, %eax
	and $0xf, %eax
	movb hexdigits(%eax), %al
	out %al, (%dx)
	mov $'\n', %al
	out %al, (%dx)
	mov $0x4f, %eax
	out %eax, $DEBUG_EXIT
1:	hlt
	jmp 1b

	.balign 16
stubs:					# 256 stubs, 16 bytes apart: push the vector, go to unexpected
	.set vector, 0
	.rept 256
	.balign 16
	push $vector
	jmp unexpected
	.set vector, vector + 1
	.endr

	.balign 4
ticks:	.long 0
	.balign 2
	.word 0				# pad so that the IDT base below is 4-byte aligned
idtr:	.word 256 * 8 - 1
	.long idt
	.balign 8
idt:	.fill 256 * 8, 1, 0

hexdigits:	.ascii "0123456789abcdef"
s_pic:		.asciz "pic: "
s_ioapic:	.asciz "ioapic: "
s_ticks:	.asciz " ticks/s\n"
s_unexpected:	.asciz "unexpected vector 0x"
