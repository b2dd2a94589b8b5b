# ioapic_level: a level-triggered IOAPIC interrupt held until EOI. COM1's THR-empty interrupt (IER bit 1)
# holds IRQ 4 asserted until the guest reads IIR (or writes THR); IOAPIC pin 4 is programmed level-triggered,
# active high, fixed, to vector 0x50 on APIC ID 0 (both 8259s masked).
# Flat, 32-bit protected mode at 0x100000; run: tsvmm run --mode protected --irqchip FILE.
#   1. The handler's first run leaves the interrupt unacknowledged (no EOI, IIR unread): the entry's Remote
#      IRR (bit 14) reads 1 in the handler, and in the next 20 ms with interrupts on nothing more arrives.
#   2. The guest writes the local APIC's EOI: the line is still asserted, so the IOAPIC delivers it again.
#      From then on the handler EOIs each time without touching the UART: it runs once per EOI (Remote IRR
#      set in each run), until its 5th run reads IIR (THR empty, 0x?2), which deasserts the line, then EOIs.
#   3. 50 ms with interrupts on: no further run, Remote IRR reads 0.
# Output:
#   level: 1 run without EOI, held
#   level: 5 runs, one per EOI, then iir 0x<hh> and quiet
# Exit: 0x10 (status 33). Failures: 0x51 Remote IRR clear in the handler, 0x52 redelivered without an EOI,
# 0x53 not delivered at all, 0x54 not redelivered after the EOI, 0x55 runs after the line dropped, 0x56
# Remote IRR still set at the end, 0x57 IIR did not report THR empty; 0x4f an unexpected vector.
	.code32
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0xf4
	.set UART_IER, COM1 + 1
	.set UART_IIR, COM1 + 2
	.set LAPIC, 0xfee00000
	.set LAPIC_EOI, LAPIC + 0xb0
	.set LAPIC_SVR, LAPIC + 0xf0
	.set IOREGSEL, 0xfec00000
	.set IOWIN, 0xfec00010
	.set REDTBL4, 0x10 + 2 * 4
	.set VECTOR, 0x50
	.set LEVEL, 0x8000
	.set REMOTE_IRR, 0x4000
	.set RUNS, 5
	.set PM_1MS, 3580

	.text
	.globl _start
_start:
	cli
	mov $stack_top, %esp
	call setup_idt
	mov $VECTOR, %ecx
	mov $handler, %eax
	call set_gate
	call pm_find
	movl $0x1ff, LAPIC_SVR		# software-enable the local APIC
	movl $(REDTBL4 + 1), IOREGSEL
	movl $0, IOWIN			# destination APIC ID 0
	movl $REDTBL4, IOREGSEL
	movl $(LEVEL | VECTOR), IOWIN	# fixed, physical, level, active high, unmasked

	# 1. Assert the line: enable the THR-empty interrupt (THR is empty).
	mov $UART_IER, %dx
	mov $0x02, %al
	out %al, (%dx)
	sti
	mov $(20 * PM_1MS), %ecx
	call pm_wait
	cli
	mov $0x53, %eax
	cmpl $0, runs
	je fail
	mov $0x52, %eax
	cmpl $1, runs
	jne fail
	mov $0x51, %eax
	cmpl $0, irr_missing
	jne fail
	# Print (writing THR keeps the THRE interrupt pending, IER still has it enabled).
	mov $s_held, %esi
	call puts

	# 2. EOI: the still-asserted line comes back, once per EOI, until the handler reads IIR.
	movl $1, eoi_in_handler
	movl $0, LAPIC_EOI
	sti
	mov $(50 * PM_1MS), %ecx
	call pm_wait
	cli
	mov $0x54, %eax
	cmpl $2, runs
	jb fail
	mov $0x55, %eax
	cmpl $RUNS, runs
	jne fail
	mov $0x51, %eax
	cmpl $0, irr_missing
	jne fail
	mov $0x57, %eax
	mov iir, %ebx
	and $0x0f, %ebx
	cmp $0x02, %ebx
	jne fail
	# 3. The line is down: Remote IRR clear.
	movl $REDTBL4, IOREGSEL
	mov IOWIN, %ebx
	mov $0x56, %eax
	test $REMOTE_IRR, %ebx
	jnz fail
	# Disable the UART interrupt before printing: every THR write would raise it again.
	mov $UART_IER, %dx
	mov $0x00, %al
	out %al, (%dx)
	mov $s_runs, %esi
	call puts
	mov runs, %eax
	call putdec
	mov $s_iir, %esi
	call puts
	mov iir, %eax
	call puthex8
	mov $s_quiet, %esi
	call puts
	mov $0x10, %eax
	out %eax, $DEBUG_EXIT
1:	hlt
	jmp 1b

handler:
	push %eax
	push %ebx
	push %edx
	incl runs
	movl $REDTBL4, IOREGSEL		# Remote IRR must be set while the interrupt is in service
	mov IOWIN, %eax
	test $REMOTE_IRR, %eax
	jnz 1f
	incl irr_missing
1:	cmpl $0, eoi_in_handler
	je 3f				# the first run: no EOI, IIR unread
	cmpl $RUNS, runs
	jb 2f
	mov $UART_IIR, %dx		# the last run: reading IIR acknowledges THR empty, the line drops
	in (%dx), %al
	movzbl %al, %eax
	mov %eax, iir
2:	movl $0, LAPIC_EOI
3:	pop %edx
	pop %ebx
	pop %eax
	jmp interrupt_return

	.balign 4
runs:		.long 0
irr_missing:	.long 0
eoi_in_handler:	.long 0
iir:		.long 0
s_held:		.asciz "level: 1 run without EOI, held\n"
s_runs:		.asciz "level: "
s_iir:		.asciz " runs, one per EOI, then iir 0x"
s_quiet:	.asciz " and quiet\n"

.include "lib/pm_timer32.inc"
.include "lib/apic_runtime32.inc"
