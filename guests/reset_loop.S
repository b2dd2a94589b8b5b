# Prints "boot" and resets the machine through the i8042 (command 0xfe on port 0x64). Real mode at 0x1000.
	.code16
	mov $0x3f8, %dx
	mov $boot, %si
1:	lodsb
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	mov $0xfe, %al
	out %al, $0x64
	hlt
boot:	.asciz "boot\n"
