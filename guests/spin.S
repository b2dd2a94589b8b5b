# Prints "spinning" on COM1, then loops forever without another exit: only the host can stop it.
	.code16
	mov $0x3f8, %dx
	mov $msg, %si
1:	lodsb
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	jmp 2b
msg:	.asciz "spinning\n"
