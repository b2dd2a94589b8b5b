# apic_timer: the local APIC timer in its three modes, through the xAPIC page at 0xfee00000, timed by the
# ACPI PM timer (3.579545 MHz; its port from the FADT, 0x608 when the FADT has none).
# Flat, 32-bit protected mode at 0x100000; run: tsvmm run --mode protected --irqchip FILE.
#   calibration: the timer counts down from 0xffffffff (divide by 16, LVT masked) for 50 ms of PM time,
#     each end bracketed by PM reads no more than 0.2 ms apart (else it starts again).
#   one-shot (vector 0x40, 20 ms): the current count decreases while armed (over 0.1 ms), the interrupt comes once (HLT
#     wakes into it) no earlier than 15 ms after arming, the current count is then 0, and nothing follows
#     in the next 60 ms.
#   periodic (vector 0x41, 10 ms): ticks counted over 500 ms of PM time, halted between ticks, 50 expected: 30 to 60 accepted (a
#     loaded host delays wake-ups and late ticks coalesce; a halved rate or a dead timer still fails).
#   TSC-deadline (vector 0x42, 5 ms of TSC, calibrated against the PM timer over 40 ms), when CPUID.1:ECX[24] says so:
#     IA32_TSC_DEADLINE reads back as written, the handler's RDTSC is at or past the deadline, the MSR
#     reads 0 once it fired.
# Output:
#   pm timer: port 0x<hh>.. (fadt|default)
#   apic timer: <n> counts/ms at divide 16
#   one-shot: vector 0x40 once, after <n> us
#   periodic: vector 0x41, <n> ticks in 500 ms
#   tsc-deadline: vector 0x42, <n> TSC ticks past the deadline
# Exit: 0x10 (status 33). Failures: 0x20 calibration, 0x21 current count not decreasing, 0x22 one-shot never
# fired, 0x23 count not 0 after it, 0x24 fired more than once, 0x25 fired too early, 0x31 periodic rate out
# of range, 0x41 deadline MSR readback, 0x42 fired before the deadline, 0x43 MSR not cleared, 0x44 never
# fired, 0x45 no TSC-deadline in CPUID; 0x4f an unexpected vector.
	.code32
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0xf4
	.set LAPIC, 0xfee00000
	.set LAPIC_EOI, LAPIC + 0xb0
	.set LAPIC_SVR, LAPIC + 0xf0
	.set LVT_TIMER, LAPIC + 0x320
	.set TIMER_INITIAL, LAPIC + 0x380
	.set TIMER_CURRENT, LAPIC + 0x390
	.set TIMER_DIVIDE, LAPIC + 0x3e0
	.set LVT_MASKED, 0x10000
	.set MODE_PERIODIC, 0x20000
	.set MODE_TSC_DEADLINE, 0x40000
	.set MSR_TSC_DEADLINE, 0x6e0
	.set VEC_ONESHOT, 0x40
	.set VEC_PERIODIC, 0x41
	.set VEC_DEADLINE, 0x42
	.set PM_1MS, 3580		# PM ticks in a millisecond (3579.545)
	.set PM_HZ, 3579545

	.text
	.globl _start
_start:
	cli
	mov $stack_top, %esp
	call setup_idt
	mov $VEC_ONESHOT, %ecx
	mov $oneshot_handler, %eax
	call set_gate
	mov $VEC_PERIODIC, %ecx
	mov $periodic_handler, %eax
	call set_gate
	mov $VEC_DEADLINE, %ecx
	mov $deadline_handler, %eax
	call set_gate
	call pm_find
	mov $s_pm, %esi
	call puts
	mov pm_port, %eax
	shr $8, %eax
	call puthex8
	mov pm_port, %eax
	call puthex8
	mov $' ', %al
	out %al, (%dx)
	mov pm_source, %esi
	call puts
	call newline

	movl $0x1ff, LAPIC_SVR		# software-enable the local APIC, spurious vector 0xff

	# Calibration: counts per millisecond at divide-by-16, the LVT masked, over 50 ms of PM time. Each
	# end is bracketed by two PM reads; a bracket wider than 0.2 ms (the host stalled the VM there) makes
	# the try start again, 10 tries at most.
	movl $0x3, TIMER_DIVIDE		# divide by 16
	movl $(LVT_MASKED | VEC_ONESHOT), LVT_TIMER
	mov $10, %ebp
1:	dec %ebp
	mov $0x20, %eax
	js fail
	call pm_now
	mov %eax, %ebx
	movl $0xffffffff, TIMER_INITIAL
	call pm_since
	cmp $(PM_1MS / 5), %eax
	ja 1b
	mov $(50 * PM_1MS), %ecx	# from the first read: the window's start is no later than that
	call pm_wait_from
	call pm_now
	mov %eax, %edi
	mov TIMER_CURRENT, %esi
	call pm_now
	sub %edi, %eax
	and $0xffffff, %eax
	cmp $(PM_1MS / 5), %eax
	ja 1b
	movl $0, TIMER_INITIAL		# stops the timer
	sub %ebx, %edi			# PM ticks in the window
	and $0xffffff, %edi
	mov $0xffffffff, %eax
	sub %esi, %eax			# counts in the window
	mov $PM_1MS, %ecx
	mul %ecx
	div %edi
	mov %eax, per_ms
	mov $0x20, %eax
	cmpl $100, per_ms		# at least 100 kHz
	jb fail
	mov $s_apic, %esi
	call puts
	mov per_ms, %eax
	call putdec
	mov $s_counts, %esi
	call puts

	# One-shot: 20 ms.
	movl $VEC_ONESHOT, LVT_TIMER
	call pm_now
	mov %eax, armed_at
	mov per_ms, %eax
	imul $20, %eax
	mov %eax, TIMER_INITIAL
	mov TIMER_CURRENT, %esi
	mov $(PM_1MS / 10), %ecx
	call pm_wait
	mov TIMER_CURRENT, %edi
	mov $0x21, %eax
	cmp TIMER_INITIAL, %esi		# first reading <= initial
	ja fail
	cmp %esi, %edi			# second reading, 0.1 ms later, < first
	jae fail
	# HLT until the interrupt: each wake-up checks the count, a bounded number of times.
	mov $1000, %ecx
1:	cmpl $0, oneshot_count
	jne 2f
	sti
	hlt
	cli
	loop 1b
	mov $0x22, %eax
	jmp fail
2:	mov $0x23, %eax
	cmpl $0, TIMER_CURRENT
	jne fail
	mov oneshot_at, %eax
	sub armed_at, %eax
	and $0xffffff, %eax
	mov %eax, oneshot_delay
	mov $0x25, %eax
	cmpl $(15 * PM_1MS), oneshot_delay
	jb fail
	sti				# 60 ms more with interrupts on: nothing else arrives
	mov $(60 * PM_1MS), %ecx
	call pm_wait
	cli
	mov $0x24, %eax
	cmpl $1, oneshot_count
	jne fail
	mov $s_oneshot, %esi
	call puts
	mov oneshot_delay, %eax		# PM ticks -> microseconds: ticks * 1000000 / 3579545
	mov $1000000, %ecx
	mul %ecx
	mov $PM_HZ, %ecx
	div %ecx
	call putdec
	mov $s_us, %esi
	call puts

	# Periodic: 10 ms, ticks counted over 500 ms.
	movl $(MODE_PERIODIC | VEC_PERIODIC), LVT_TIMER
	movl $0, periodic_count
	mov per_ms, %eax
	imul $10, %eax
	mov %eax, TIMER_INITIAL
	call pm_now			# halted between ticks: each tick wakes the HLT
	mov %eax, %ebx
1:	sti
	hlt
	cli
	call pm_since
	cmp $(500 * PM_1MS), %eax
	jb 1b
	movl $0, TIMER_INITIAL
	mov periodic_count, %ebx
	mov $s_periodic, %esi
	call puts
	mov %ebx, %eax
	call putdec
	mov $s_in500, %esi
	call puts
	mov $0x31, %eax
	cmp $30, %ebx
	jb fail
	cmp $60, %ebx
	ja fail

	# TSC-deadline: 5 ms of TSC ticks, calibrated against the PM timer over 10 ms.
	mov $1, %eax
	cpuid
	mov $0x45, %eax
	bt $24, %ecx
	jnc fail
	rdtsc
	mov %eax, %esi
	mov %edx, %edi
	mov $(40 * PM_1MS), %ecx
	call pm_wait
	rdtsc
	sub %esi, %eax			# TSC ticks in 40 ms (< 2^32 below 107 GHz)
	shr $3, %eax			# in 5 ms
	mov %eax, %ebp
	movl $(MODE_TSC_DEADLINE | VEC_DEADLINE), LVT_TIMER
	rdtsc
	add %ebp, %eax
	adc $0, %edx
	mov %eax, deadline
	mov %edx, deadline + 4
	mov $MSR_TSC_DEADLINE, %ecx
	wrmsr
	rdmsr
	mov %eax, %esi
	mov $0x41, %eax
	cmp deadline, %esi
	jne fail
	cmp deadline + 4, %edx
	jne fail
	mov $1000, %ecx
1:	cmpl $0, deadline_count
	jne 2f
	sti
	hlt
	cli
	loop 1b
	mov $0x44, %eax
	jmp fail
2:	mov fired_tsc, %eax		# fired_tsc - deadline, signed 64-bit
	mov fired_tsc + 4, %edx
	sub deadline, %eax
	sbb deadline + 4, %edx
	mov %eax, %esi
	mov $0x42, %eax
	test %edx, %edx
	js fail
	mov $MSR_TSC_DEADLINE, %ecx
	rdmsr
	or %edx, %eax
	mov $0x43, %eax
	jnz fail
	mov $s_deadline, %esi
	call puts
	mov fired_tsc, %eax
	sub deadline, %eax
	call putdec
	mov $s_past, %esi
	call puts

	mov $0x10, %eax
	out %eax, $DEBUG_EXIT
1:	hlt
	jmp 1b

oneshot_handler:
	push %eax
	push %edx
	call pm_now
	mov %eax, oneshot_at
	incl oneshot_count
	movl $0, LAPIC_EOI
	pop %edx
	pop %eax
	jmp interrupt_return

periodic_handler:
	incl periodic_count
	movl $0, LAPIC_EOI
	jmp interrupt_return

deadline_handler:
	push %eax
	push %edx
	rdtsc
	mov %eax, fired_tsc
	mov %edx, fired_tsc + 4
	incl deadline_count
	movl $0, LAPIC_EOI
	pop %edx
	pop %eax
	jmp interrupt_return

	.balign 4
per_ms:		.long 0
armed_at:	.long 0
oneshot_at:	.long 0
oneshot_delay:	.long 0
oneshot_count:	.long 0
periodic_count:	.long 0
deadline_count:	.long 0
deadline:	.quad 0
fired_tsc:	.quad 0
s_pm:		.asciz "pm timer: port 0x"
s_apic:		.asciz "apic timer: "
s_counts:	.asciz " counts/ms at divide 16\n"
s_oneshot:	.asciz "one-shot: vector 0x40 once, after "
s_us:		.asciz " us\n"
s_periodic:	.asciz "periodic: vector 0x41, "
s_in500:	.asciz " ticks in 500 ms\n"
s_deadline:	.asciz "tsc-deadline: vector 0x42, "
s_past:		.asciz " TSC ticks past the deadline\n"

.include "lib/pm_timer32.inc"
.include "lib/apic_runtime32.inc"
