# bench/exits: 200,000 one-byte MMIO writes at gpa 0x20000, beyond the 64 KiB of RAM, then HLT.
	.code16
	mov $0x2000, %ax
	mov %ax, %es
	mov $200000, %ecx
1:	movb %al, %es:0
	dec %ecx
	jnz 1b
	hlt
