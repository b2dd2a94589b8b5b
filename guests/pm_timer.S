# pm_timer: the ACPI PM timer advances at 3.579545 MHz. Its port comes from the FADT's PM_TMR_BLK (found
# through the RSDP and RSDT); 0x608, tsvmm's port, when no FADT announces one.
# Flat, 32-bit protected mode at 0x100000; run: tsvmm run --mode protected --irqchip FILE.
#   1. Monotonic: 1000 successive reads never go backwards (mod 2^24) and the count moves.
#   2. Against the PIT: channel 2 (gate 2 high through port 0x61, speaker off) runs free in mode 2 at
#      1.193182 MHz; its count, latched and read in a loop, is summed until at least 4 x 65535 ticks (0.22 s)
#      passed: the PM timer must have moved 3 ticks per PIT tick, within 2%. Each PIT read is bracketed by
#      PM reads; the first and last brackets must be under 0.2 ms wide, and a step between two reads of 45
#      ms or more (a loaded host stalling the VM) could hide a PIT wrap: the measurement restarts (50 times
#      at most).
#   3. Against the RTC: the PM ticks between two changes of the CMOS seconds register: 3579545, within 2%
#      (up to 5 tries: a host stall at an edge shifts the measurement by the stall).
# Output:
#   pm timer: port 0x<hhhh> (fadt|default)
#   pit: <n> pm ticks in <m> pit ticks (3 each expected)
#   rtc: <n> pm ticks in one rtc second (expected 3579545)
# Exit: 0x10 (status 33). Failures: 0x91 the count went backwards, 0x92 it did not move, 0x93 off the PIT,
# 0x94 off the RTC, 0x95 fifty PIT measurements were cut short by host stalls.
	.code32
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0xf4
	.set PIT_CH2, 0x42
	.set PIT_CMD, 0x43
	.set PORT_B, 0x61
	.set CMOS_INDEX, 0x70
	.set CMOS_DATA, 0x71
	.set PM_HZ, 3579545

	.text
	.globl _start
_start:
	cli
	mov $stack_top, %esp
	call setup_idt
	call pm_find
	mov $s_pm, %esi
	call puts
	mov pm_port, %eax
	shr $8, %eax
	call puthex8
	mov pm_port, %eax
	call puthex8
	mov $s_open, %esi
	call puts
	mov pm_source, %esi
	call puts
	mov $s_close, %esi
	call puts

	# 1. Monotonic.
	call pm_now
	mov %eax, %edi			# the first reading
	mov %eax, %ebx
	mov $1000, %ebp
1:	call pm_since			# since the previous reading: a step back shows as a huge step
	cmp $0x800000, %eax
	mov $0x91, %ecx
	jae fail_ecx
	add %eax, %ebx
	and $0xffffff, %ebx
	dec %ebp
	jnz 1b
	cmp %edi, %ebx
	mov $0x92, %ecx
	je fail_ecx

	# 2. Against the PIT's channel 2, free-running: its count is latched and read back, and the ticks it
	#    moved are summed (mod 2^16 per step) until 8 x 65535 have passed.
	in $PORT_B, %al
	and $0xfc, %al			# speaker off
	or $0x01, %al			# gate 2 high
	out %al, $PORT_B
	mov $0xb4, %al			# channel 2, lobyte/hibyte, mode 2, binary
	out %al, $PIT_CMD
	xor %al, %al			# count 0: 65536
	out %al, $PIT_CH2
	out %al, $PIT_CH2
	movl $50, restarts_left
restart_pit:
	decl restarts_left
	mov $0x95, %ecx
	js fail_ecx
	call bracketed_pit		# the start: a PIT count with PM reads no more than 0.2 ms apart
	cmp $(PM_HZ / 5000), %esi
	ja restart_pit
	mov %eax, %edi			# the previous PIT count
	mov %ebx, pit_start
	mov %ebx, prev_pm
	xor %ebp, %ebp			# PIT ticks so far
2:	call bracketed_pit
	mov %edi, %ecx
	sub %eax, %ecx
	and $0xffff, %ecx
	add %ecx, %ebp
	mov %eax, %edi
	mov %ebx, %eax			# a step longer than 45 ms (the host stalled the VM) may hide a wrap of
	sub prev_pm, %eax		# the PIT's 55 ms period: start again
	and $0xffffff, %eax
	mov %ebx, prev_pm
	cmp $(PM_HZ * 45 / 1000), %eax
	jae restart_pit
	cmp $(4 * 0xffff), %ebp
	jb 2b
	cmp $(PM_HZ / 5000), %esi	# the end needs a tight bracket too
	ja 2b
	mov %ebx, %eax
	sub pit_start, %eax
	and $0xffffff, %eax
	mov %eax, pit_ticks
	mov %ebp, pit_counted
	mov $s_pit, %esi
	call puts
	mov pit_ticks, %eax
	call putdec
	mov $s_pit_mid, %esi
	call puts
	mov pit_counted, %eax
	call putdec
	mov $s_pit_tail, %esi
	call puts
	mov pit_counted, %ebx		# expected: 3 PM ticks per PIT tick (3579545 / 1193182 = 2.99999)
	imul $3, %ebx
	mov pit_ticks, %eax
	mov $0x93, %ecx
	call within_2pc
	# 3. Against the RTC's seconds: up to 5 tries (a host stall at an edge shifts it by the stall).
	movl $5, restarts_left
rtc_try:
	call rtc_seconds
	mov %al, %bl
6:	call rtc_seconds
	cmp %al, %bl
	je 6b
	mov %al, %bl
	call pm_now
	mov %eax, rtc_start
7:	call rtc_seconds
	cmp %al, %bl
	je 7b
	call pm_now
	sub rtc_start, %eax
	and $0xffffff, %eax
	mov %eax, rtc_ticks
	mov $PM_HZ, %ebx
	call off_by_2pc
	jbe 8f
	decl restarts_left
	jnz rtc_try
8:	mov $s_rtc, %esi
	call puts
	mov rtc_ticks, %eax
	call putdec
	mov $s_rtc_tail, %esi
	call puts
	mov rtc_ticks, %eax
	mov $PM_HZ, %ebx
	mov $0x94, %ecx
	call within_2pc
	mov $0x10, %eax
	out %eax, $DEBUG_EXIT
1:	hlt
	jmp 1b

# within_2pc: fails with code ECX unless |EAX - EBX| <= EBX / 50. Clobbers EAX, EDX.
within_2pc:
	call off_by_2pc
	ja fail_ecx
	ret

# off_by_2pc: flags as for CMP |EAX - EBX|, EBX / 50 (JA: more than 2% off). Clobbers EAX, EDX.
off_by_2pc:
	push %ecx
	sub %ebx, %eax
	jns 1f
	neg %eax
1:	push %eax
	mov %ebx, %eax
	xor %edx, %edx
	mov $50, %ecx
	div %ecx
	pop %edx
	cmp %eax, %edx
	pop %ecx
	ret

fail_ecx:
	mov %ecx, %eax
	jmp fail

# bracketed_pit: EAX = channel 2's count, EBX = the PM count just before it, ESI = PM ticks from that read
# to the one just after the PIT read. Clobbers ECX, EDX.
bracketed_pit:
	call pm_now
	mov %eax, %ebx
	call pit_read
	mov %eax, %ecx
	call pm_since
	mov %eax, %esi
	mov %ecx, %eax
	ret

# pit_read: channel 2's count, latched, in EAX. Clobbers EDX.
pit_read:
	mov $0x80, %al			# counter latch, channel 2
	out %al, $PIT_CMD
	in $PIT_CH2, %al
	movzbl %al, %edx
	in $PIT_CH2, %al
	movzbl %al, %eax
	shl $8, %eax
	or %edx, %eax
	ret

# rtc_seconds: the CMOS seconds register in AL.
rtc_seconds:
	mov $0x00, %al
	out %al, $CMOS_INDEX
	in $CMOS_DATA, %al
	ret

	.balign 4
pit_start:	.long 0
prev_pm:	.long 0
pit_ticks:	.long 0
pit_counted:	.long 0
rtc_start:	.long 0
rtc_ticks:	.long 0
restarts_left:	.long 0
s_pm:		.asciz "pm timer: port 0x"
s_open:		.asciz " ("
s_close:	.asciz ")\n"
s_pit:		.asciz "pit: "
s_pit_mid:	.asciz " pm ticks in "
s_pit_tail:	.asciz " pit ticks (3 each expected)\n"
s_rtc:		.asciz "rtc: "
s_rtc_tail:	.asciz " pm ticks in one rtc second (expected 3579545)\n"

.include "lib/pm_timer32.inc"
.include "lib/apic_runtime32.inc"
