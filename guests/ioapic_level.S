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

# pm_find: the PM timer's port from the FADT (PM_TMR_BLK) into pm_port, found through the RSDP (0xe0000-
# 0xfffff) and the RSDT; 0x608 (tsvmm's port) when no FADT announces one. pm_source says which.
pm_find:
	movl $0x608, pm_port
	movl $s_default, pm_source
	mov $0xe0000, %esi
1:	cmpl $0x20445352, (%esi)	# "RSD "
	jne 2f
	cmpl $0x20525450, 4(%esi)	# "PTR "
	je 3f
2:	add $16, %esi
	cmp $0x100000, %esi
	jb 1b
	ret
3:	mov 16(%esi), %esi		# the RSDT
	cmpl $0x54445352, (%esi)	# "RSDT"
	jne 6f
	mov 4(%esi), %ecx		# its length
	sub $36, %ecx
	shr $2, %ecx
	lea 36(%esi), %edi
4:	test %ecx, %ecx
	jz 6f
	mov (%edi), %ebx
	cmpl $0x50434146, (%ebx)	# "FACP"
	je 5f
	add $4, %edi
	dec %ecx
	jmp 4b
5:	mov 76(%ebx), %eax		# PM_TMR_BLK
	test %eax, %eax
	jz 6f
	mov %eax, pm_port
	movl $s_fadt, pm_source
6:	ret

# pm_now: the PM timer's 24-bit count in EAX. Clobbers EDX.
pm_now:
	mov pm_port, %edx
	in (%dx), %eax
	and $0xffffff, %eax
	ret

# pm_since: PM ticks since the count in EBX (mod 2^24) in EAX. Clobbers EDX.
pm_since:
	call pm_now
	sub %ebx, %eax
	and $0xffffff, %eax
	ret

# pm_wait: busy-waits ECX PM ticks (ECX < 2^24). Clobbers EAX, EBX, EDX.
pm_wait:
	call pm_now
	mov %eax, %ebx
# pm_wait_from: busy-waits until ECX PM ticks have passed since the count in EBX. Clobbers EAX, EDX.
pm_wait_from:
1:	call pm_since
	cmp %ecx, %eax
	jb 1b
	ret

	.balign 4
pm_port:	.long 0x608
pm_source:	.long 0
s_fadt:		.asciz "fadt"
s_default:	.asciz "default"
# ---- common to the apic guests: IDT stubs, interrupt_return, console, failure exit ----

# setup_idt: every IDT entry becomes a 32-bit interrupt gate to its "unexpected" stub; loads the IDT and
# masks both 8259s (OCW1), so only the local APIC and the IOAPIC deliver. Clobbers EAX, ECX, EDX.
setup_idt:
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $4, %eax
	add $stubs, %eax
	call set_gate
	inc %ecx
	cmp $256, %ecx
	jb 1b
	lidt idtr
	mov $0xff, %al
	out %al, $0x21
	out %al, $0xa1
	ret

# set_gate: IDT entry ECX becomes a 32-bit interrupt gate (DPL 0, selector CS) to the handler at EAX.
set_gate:
	lea idt(,%ecx,8), %edx
	mov %ax, (%edx)
	push %eax
	mov %cs, %ax
	mov %ax, 2(%edx)
	pop %eax
	movw $0x8e00, 4(%edx)
	shr $16, %eax
	mov %ax, 6(%edx)
	ret

# interrupt_return: IRET without IRET (this host's KVM emulates ring-0 code and its instruction emulator
# runs IRET in real mode only; see pit_count.S). The frame is EIP, CS (unchanged), EFLAGS at CPL 0.
interrupt_return:
	push %eax
	mov 4(%esp), %eax
	push %ebx
	mov 16(%esp), %ebx
	mov %eax, 16(%esp)
	and $~0x200, %ebx
	mov %ebx, 12(%esp)
	pop %ebx
	pop %eax
	lea 4(%esp), %esp
	popf
	sti
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
	push %edx
	inc %ecx
	test %eax, %eax
	jnz 1b
	mov $COM1, %dx
2:	pop %eax
	add $'0', %al
	out %al, (%dx)
	loop 2b
	ret

# puthex8: AL as two lowercase hex digits. Clobbers EAX, EDX.
puthex8:
	push %ebx
	movzbl %al, %ebx
	mov $COM1, %dx
	mov %ebx, %eax
	shr $4, %eax
	movb hexdigits(%eax), %al
	out %al, (%dx)
	mov %ebx, %eax
	and $0xf, %eax
	movb hexdigits(%eax), %al
	out %al, (%dx)
	pop %ebx
	ret

newline:
	mov $'\n', %al
	mov $COM1, %dx
	out %al, (%dx)
	ret

# fail: prints "FAIL 0x<code>" and exits through isa-debug-exit with the code in EAX.
fail:
	cli
	push %eax
	mov $s_fail, %esi
	call puts
	mov (%esp), %eax
	call puthex8
	call newline
	pop %eax
	out %eax, $DEBUG_EXIT
1:	hlt
	jmp 1b

# unexpected: the stubs push their vector and come here: "unexpected vector 0x<hh>", exit code 0x4f.
unexpected:
	cli
	mov $s_unexpected, %esi
	call puts
	pop %eax
	call puthex8
	call newline
	mov $0x4f, %eax
	out %eax, $DEBUG_EXIT
1:	hlt
	jmp 1b

	.balign 16
stubs:
	.set vector, 0
	.rept 256
	.balign 16
	push $vector
	jmp unexpected
	.set vector, vector + 1
	.endr

hexdigits:	.ascii "0123456789abcdef"
s_fail:		.asciz "FAIL 0x"
s_unexpected:	.asciz "unexpected vector 0x"
	.balign 4
	.word 0
idtr:	.word 256 * 8 - 1
	.long idt
	.balign 8
idt:	.fill 256 * 8, 1, 0
	.balign 16
	.fill 4096, 1, 0
stack_top:
