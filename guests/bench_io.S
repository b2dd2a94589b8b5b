# bench/exits: 200,000 OUT exits to port 0x3ff (COM1's scratch register), then HLT. Real mode at 0x1000.
	.code16
	mov $0x3ff, %dx
	mov $200000, %ecx
1:	out %al, (%dx)
	dec %ecx
	jnz 1b
	hlt
