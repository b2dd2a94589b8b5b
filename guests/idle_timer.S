# Waits ECX times (set with --reg ecx=N) for a 0.5 s local APIC one-shot timer, halted between interrupts,
# and prints the guest time that passed by the TSC, in milliseconds ("elapsed: N ms"); exits with 0x21.
# With the emulator's virtual clock the halts are skipped: guest time runs ahead of the host's.
	.code32
	.set COM1, 0x3f8
	.set LAPIC_SVR, 0xfee000f0
	.set LAPIC_EOI, 0xfee000b0
	.set LAPIC_LVT_TIMER, 0xfee00320
	.set LAPIC_TIMER_INITIAL, 0xfee00380
	.set LAPIC_TIMER_DIVIDE, 0xfee003e0
	.set TIMER_VECTOR, 0x40
	.set HALF_SECOND, 500000000	# APIC bus ticks at 1 GHz, divide by 1
	.set TSC_PER_MS, 1000000	# the emulator's TSC counts nanoseconds

_start:
	mov %ecx, %ebp			# waits left
	mov $timer, %eax		# the timer's 32-bit interrupt gate, to the boot GDT's code segment 0x08
	mov %ax, idt + TIMER_VECTOR * 8
	movw $0x08, idt + TIMER_VECTOR * 8 + 2
	movw $0x8e00, idt + TIMER_VECTOR * 8 + 4
	shr $16, %eax
	mov %ax, idt + TIMER_VECTOR * 8 + 6
	lidt idtr
	movl $0x1ff, LAPIC_SVR		# software-enable the APIC, spurious vector 0xff
	movl $0xb, LAPIC_TIMER_DIVIDE	# divide by 1
	movl $TIMER_VECTOR, LAPIC_LVT_TIMER	# one-shot, unmasked
	rdtsc
	mov %eax, start_lo
	mov %edx, start_hi
1:	test %ebp, %ebp
	jz 3f
	movl $0, fired
	movl $HALF_SECOND, LAPIC_TIMER_INITIAL
2:	sti
	hlt
	cli
	cmpl $0, fired
	je 2b
	dec %ebp
	jmp 1b
3:	rdtsc
	sub start_lo, %eax
	sbb start_hi, %edx
	mov $TSC_PER_MS, %ecx
	div %ecx			# milliseconds (fits: EDX < ECX for any run under an hour)
	mov %eax, %ebx
	mov $s_elapsed, %esi
	call puts
	mov %ebx, %eax
	call putdec
	mov $s_ms, %esi
	call puts
	mov $0x21, %eax
	out %eax, $0xf4

timer:	movl $1, fired
	movl $0, LAPIC_EOI
	iret

putc:	mov $COM1, %dx
	out %al, (%dx)
	ret

puts:	lodsb
	test %al, %al
	jz 1f
	call putc
	jmp puts
1:	ret

# putdec: EAX in decimal.
putdec:	mov $10, %ecx
	xor %edi, %edi
1:	xor %edx, %edx
	div %ecx
	push %edx
	inc %edi
	test %eax, %eax
	jnz 1b
2:	pop %eax
	add $'0', %al
	call putc
	dec %edi
	jnz 2b
	ret

	.align 8
# The IDT: only the timer's vector is present (filled in at start).
idt:
	.fill TIMER_VECTOR + 1, 8, 0
idt_end:
idtr:	.word idt_end - idt - 1
	.long idt

start_lo: .long 0
start_hi: .long 0
fired:	.long 0
s_elapsed: .asciz "elapsed: "
s_ms:	.asciz " ms\n"
