# mode_protected: proves tsvmm's `--mode protected` entry state for flat binaries.
# Build: buildFlat("mode_protected.S", 0x100000); run: tsvmm run --mode protected FILE (load 0x100000).
# Entry state expected: 32-bit flat code segment selector 0x08, data selector 0x10 in DS/ES/SS/FS/GS,
# paging off, ESP=0x8ff0, entered at the load address.
#
# Expected output on COM1 (one line, then the VM ends):
#   protected: cr0.pe=1 cr0.pg=0 cs=0008 ds=0010 ss=0010 esp=00008ff0
# Exit: outl 0x11 to port 0xf4 (isa-debug-exit) -> process exit status (0x11<<1)|1 = 35.
# Cost: 399 guest instructions, 67 exits (66 COM1 writes and the debug exit).
	.code32
	.text
	.globl _start
_start:
	mov %esp, %ebp			# the entry ESP, before any call moves it

	mov $s_head, %esi
	call puts
	mov %cr0, %eax
	and $1, %eax			# CR0.PE (bit 0)
	call putbit
	mov $s_pg, %esi
	call puts
	mov %cr0, %eax
	shr $31, %eax			# CR0.PG (bit 31)
	call putbit

	mov $s_cs, %esi
	call puts
	mov %cs, %eax
	call puthex4
	mov $s_ds, %esi
	call puts
	mov %ds, %eax
	call puthex4
	mov $s_ss, %esi
	call puts
	mov %ss, %eax
	call puthex4
	mov $s_esp, %esi
	call puts
	mov %ebp, %eax
	mov $8, %ecx
	call puthex

	mov $0x3f8, %dx
	mov $'\n', %al
	out %al, (%dx)
	mov $0x11, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)		# isa-debug-exit: the VM ends here
1:	hlt
	jmp 1b

# puts: writes the NUL-terminated string at ESI to COM1. Clobbers EAX, EDX, ESI.
puts:
	mov $0x3f8, %dx
1:	lodsb
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	ret

# putbit: writes '0' or '1' for EAX (0 or 1). Clobbers EAX, EDX.
putbit:
	add $'0', %al
	mov $0x3f8, %dx
	out %al, (%dx)
	ret

# puthex4 / puthex: writes the low 4 / ECX (1..8) hex digits of EAX, lowercase. Clobbers EAX, EBX, ECX, EDX.
puthex4:
	mov $4, %ecx
puthex:
	mov %eax, %ebx
	shl $2, %ecx
	mov $0x3f8, %dx
1:	sub $4, %ecx
	mov %ebx, %eax
	shr %cl, %eax
	and $0xf, %eax
	movb hexdigits(%eax), %al
	out %al, (%dx)
	test %ecx, %ecx
	jnz 1b
	ret

hexdigits: .ascii "0123456789abcdef"
s_head:	.asciz "protected: cr0.pe="
s_pg:	.asciz " cr0.pg="
s_cs:	.asciz " cs="
s_ds:	.asciz " ds="
s_ss:	.asciz " ss="
s_esp:	.asciz " esp="
