# The seed demo (LWN "Using the KVM API"): prints AL+BL as a digit and a newline on COM1, then halts.
# Real mode, loaded and entered at 0x1000 with AX=2, BX=2.
	.code16
	mov $0x3f8, %dx
	add %bl, %al
	add $'0', %al
	out %al, (%dx)
	mov $'\n', %al
	out %al, (%dx)
	hlt
