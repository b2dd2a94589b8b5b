# Touches ports nobody owns: an OUT is dropped, an IN reads all ones (AL=0xff), then halts.
	.code16
	mov $0x2a, %al
	out %al, $0x99
	in $0x9a, %al
	hlt
