# Counts forever in the 32-bit word at 0x2000, without exits: a guest to pause, resume and stop.
	.code16
	movl $0, 0x2000
1:	incl 0x2000
	jmp 1b
