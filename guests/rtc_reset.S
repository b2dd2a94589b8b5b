# rtc_reset: reads the date and time from the CMOS RTC, prints it, then resets the machine.
# Build: buildFlat("rtc_reset.S", 0x100000); run: tsvmm run --mode protected [--reg ebx=N] FILE.
# The time is read as firmware does: wait until status register A's update-in-progress bit (7) is clear,
# read century (0x32), year, month, day, hour, minute and second, then read them all again and start over
# if the two readings differ (an update fell between them). Status register B says how to decode them:
# BCD unless bit 2 (binary) is set, 12-hour with bit 7 of the hour meaning PM unless bit 1 (24-hour) is set.
#
# Expected output on COM1 (one line, every field two decimal digits, the RTC's time: UTC under tsvmm):
#   rtc: CCYY-MM-DD HH:MM:SS
# Then the reset, chosen by EBX at entry:
#   0 (default)  i8042 command 0xfe (pulse the reset line) to port 0x64, once its input buffer is empty
#   1            0x06 (SYS_RST | RST_CPU) to the Reset Control Register, port 0xcf9
#   2            bit 0 (fast reset) set in System Control Port A, port 0x92
# A reset ends the run: tsvmm exits with status 0 and nothing on stderr. Should the guest still be running
# after the reset write, it prints "rtc: no reset" and exits through isa-debug-exit with code 0x4e (status 157).
	.code32
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0xf4
	.set CMOS_INDEX, 0x70
	.set CMOS_DATA, 0x71
	.set RTC_REG_A, 0x0a
	.set RTC_REG_B, 0x0b
	.set REG_A_UIP, 0x80
	.set REG_B_24H, 0x02
	.set REG_B_BINARY, 0x04
	.set HOUR_PM, 0x80
	.set I8042_STATUS, 0x64
	.set I8042_COMMAND, 0x64
	.set I8042_INPUT_FULL, 0x02
	.set I8042_CMD_RESET, 0xfe
	.set RESET_CONTROL, 0xcf9
	.set SYSTEM_CONTROL_A, 0x92
	.set NFIELDS, 7
	.set HOUR, 4			# the hour's position in `fields`

	.text
	.globl _start
_start:
	cli
	mov %ebx, %ebp			# the reset method, kept for the end

	# Two identical readings in a row, each begun with no update in progress.
1:	mov $first, %edi
	call read_time
	mov $second, %edi
	call read_time
	mov $first, %esi
	mov $second, %edi
	mov $NFIELDS, %ecx
	cld
	repe cmpsb
	jne 1b

	mov $RTC_REG_B, %al
	call cmos_read
	mov %al, %bl			# status B, for the decoding

	# Decode in place: the hour first (its PM flag is not part of the number), then the rest.
	movzbl first + HOUR, %eax
	test $REG_B_24H, %bl
	jnz 2f
	mov %al, %bh			# 12-hour clock: 12 AM is 0, 12 PM is 12
	and $~HOUR_PM, %al
	call decode
	cmp $12, %al
	jne 3f
	xor %al, %al
3:	test $HOUR_PM, %bh
	jz 4f
	add $12, %al
4:	mov %al, first + HOUR
	jmp 5f
2:	call decode
	mov %al, first + HOUR
5:	xor %esi, %esi
6:	cmp $HOUR, %esi
	je 7f
	movzbl first(%esi), %eax
	call decode
	mov %al, first(%esi)
7:	inc %esi
	cmp $NFIELDS, %esi
	jb 6b

	# rtc: CCYY-MM-DD HH:MM:SS
	mov $s_rtc, %esi
	call puts
	xor %esi, %esi
8:	movzbl first(%esi), %eax
	call put2
	movzbl separators(%esi), %eax
	test %al, %al
	jz 9f
	call putc
9:	inc %esi
	cmp $NFIELDS, %esi
	jb 8b

	# Reset.
	cmp $1, %ebp
	je reset_cf9
	cmp $2, %ebp
	je reset_92
reset_i8042:
1:	in $I8042_STATUS, %al		# the controller takes a command once its input buffer is empty
	test $I8042_INPUT_FULL, %al
	jnz 1b
	mov $I8042_CMD_RESET, %al
	out %al, $I8042_COMMAND
	jmp no_reset
reset_cf9:
	mov $0x06, %al
	mov $RESET_CONTROL, %dx
	out %al, (%dx)
	jmp no_reset
reset_92:
	in $SYSTEM_CONTROL_A, %al
	or $0x01, %al
	out %al, $SYSTEM_CONTROL_A
no_reset:
	mov $s_no_reset, %esi
	call puts
	mov $0x4e, %eax
	out %eax, $DEBUG_EXIT
1:	jmp 1b				# never HLT: without an irqchip that would end the run with status 0

# read_time: waits for status A's UIP bit to clear, then reads the NFIELDS time registers, in the order of
# `fields`, into the bytes at EDI. Clobbers EAX, ECX, ESI, EDI.
read_time:
1:	mov $RTC_REG_A, %al
	call cmos_read
	test $REG_A_UIP, %al
	jnz 1b
	mov $fields, %esi
	mov $NFIELDS, %ecx
2:	lodsb
	call cmos_read
	stosb
	loop 2b
	ret

# cmos_read: CMOS register AL (index out to 0x70, the value in from 0x71) in AL.
cmos_read:
	out %al, $CMOS_INDEX
	in $CMOS_DATA, %al
	ret

# decode: the time field in AL as a binary number in AL, per status B in BL. Clobbers AH.
decode:
	test $REG_B_BINARY, %bl
	jnz 1f
	mov %al, %ah
	shr $4, %ah
	and $0x0f, %al
	aad				# AL = AH * 10 + AL, AH = 0
1:	ret

# put2: AL (0..99) as two decimal digits.
put2:
	aam				# AH = AL / 10, AL = AL % 10
	xchg %al, %ah
	add $'0', %al
	call putc
	mov %ah, %al
	add $'0', %al
	# fall through
putc:
	push %edx
	mov $COM1, %dx
	out %al, (%dx)
	pop %edx
	ret

# puts: the NUL-terminated string at ESI. Clobbers EAX, ESI.
puts:
1:	lodsb
	test %al, %al
	jz 2f
	call putc
	jmp 1b
2:	ret

fields:		.byte 0x32, 0x09, 0x08, 0x07, 0x04, 0x02, 0x00	# century, year, month, day, hour, min, sec
separators:	.byte 0, '-', '-', ' ', ':', ':', '\n'		# printed after each field
first:		.fill NFIELDS, 1, 0
second:		.fill NFIELDS, 1, 0
s_rtc:		.asciz "rtc: "
s_no_reset:	.asciz "rtc: no reset\n"
