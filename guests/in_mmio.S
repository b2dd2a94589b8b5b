# Port input and MMIO round trip (after kvm-ioctls' test_run_code). Real mode, at 0x1000.
# IN from port 0x61 into AL, then a byte MMIO write and a word MMIO read at 0x20010/0x20020, beyond RAM.
	.code16
	mov $0x61, %dx
	in (%dx), %al          # AL <- test device
	mov $0x2000, %bx
	mov %bx, %es
	movb $0x5a, %es:0x10   # MMIO write: gpa 0x20010, 1 byte, 0x5a
	movw %es:0x20, %cx     # MMIO read: gpa 0x20020, 2 bytes -> CX
	hlt
