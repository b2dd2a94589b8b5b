# Probes COM2-COM4 by their scratch registers (write 0x5a, read it back), prints "com2=B com3=B com4=B" on
# COM1 (B=1: present), then "via com2" through COM2 itself, and halts. Real mode at 0x1000.
	.code16
	mov $0x3f8, %di
	mov $0x2ff, %dx
	mov $'2', %bl
	call probe
	mov $0x3ef, %dx
	mov $'3', %bl
	call probe
	mov $0x2ef, %dx
	mov $'4', %bl
	call probe
	mov $'\n', %al
	call putc
	mov $0x2f8, %di			# now print through COM2
	mov $msg, %si
1:	lodsb
	test %al, %al
	jz 2f
	call putc
	jmp 1b
2:	hlt

probe:				# DX: scratch register, BL: the port's digit
	mov $0x5a, %al
	out %al, (%dx)
	in (%dx), %al
	mov %al, %bh
	mov $'c', %al
	call putc
	mov $'o', %al
	call putc
	mov $'m', %al
	call putc
	mov %bl, %al
	call putc
	mov $'=', %al
	call putc
	mov $'0', %al
	cmp $0x5a, %bh
	jne 3f
	mov $'1', %al
3:	call putc
	cmp $'4', %bl
	je 4f
	mov $' ', %al
	call putc
4:	ret

putc:				# AL to the UART whose base is in DI
	push %dx
	mov %di, %dx
	out %al, (%dx)
	pop %dx
	ret

msg:	.asciz "via com2\n"
