# Jumps to 0x9000:0 (gpa 0x90000), far beyond the 64 KiB of RAM this guest is given.
	.code16
	ljmp $0x9000, $0
