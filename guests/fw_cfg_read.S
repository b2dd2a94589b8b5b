# fw_cfg_read: reads QEMU's firmware configuration device through its I/O ports and prints three items.
# Build: buildFlat("fw_cfg_read.S", 0x100000); run: tsvmm run --mode protected FILE (load 0x100000).
# Uses only the entry state's flat segments and its stack (ESP=0x8ff0). The device: selector port 0x510
# (16-bit write), data port 0x511 (8-bit reads, little-endian item bytes, the offset advancing per read).
# Items: 0x0000 signature (4 bytes, "QEMU"), 0x0005 NB_CPUS (u16), 0x0003 RAM_SIZE (u64).
# Only single-byte IN/OUT (no rep insb: string I/O would need KVM's count > 1 exits).
#
# Expected output on COM1 (one line):
#   fw_cfg: sig=QEMU cpus=<NB_CPUS, decimal> ram=<RAM_SIZE, 16 lowercase hex digits>
# e.g. with one vCPU and 128 MiB of RAM (tsvmm's default --memory; QEMU's default -m):
#   fw_cfg: sig=QEMU cpus=1 ram=0000000008000000
# The signature bytes are printed as read: without the device each shows as the unclaimed-port value.
# Cost: 334 guest instructions, 63 exits.
# Exit: outl 0x24 to port 0xf4 -> process exit status (0x24<<1)|1 = 73.
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0xf4
	.set FW_CFG_SELECTOR, 0x510
	.set FW_CFG_DATA, 0x511
	.set FW_CFG_SIGNATURE, 0x0000
	.set FW_CFG_RAM_SIZE, 0x0003
	.set FW_CFG_NB_CPUS, 0x0005

	.code32
	.text
	.globl _start
_start:
	cld
	sub $8, %esp			# an 8-byte buffer on the stack
	mov %esp, %ebp

	mov $s_sig, %esi
	call puts
	mov $FW_CFG_SIGNATURE, %eax
	mov $4, %ecx
	call fw_cfg_read
	mov %ebp, %esi
	mov $4, %ecx
	mov $COM1, %dx
1:	lodsb
	out %al, (%dx)
	loop 1b

	mov $s_cpus, %esi
	call puts
	mov $FW_CFG_NB_CPUS, %eax
	mov $2, %ecx
	call fw_cfg_read
	movzwl (%ebp), %eax
	call putdec

	mov $s_ram, %esi
	call puts
	mov $FW_CFG_RAM_SIZE, %eax
	mov $8, %ecx
	call fw_cfg_read
	mov 4(%ebp), %eax		# high half first
	call puthex8
	mov 0(%ebp), %eax
	call puthex8

	mov $'\n', %al
	mov $COM1, %dx
	out %al, (%dx)
	mov $0x24, %eax
	mov $DEBUG_EXIT, %dx
	outl %eax, (%dx)		# isa-debug-exit: the VM ends here
1:	hlt
	jmp 1b

# fw_cfg_read: selects item AX and reads its first ECX (> 0) bytes to [EBP]. Clobbers EAX, ECX, EDX, EDI.
fw_cfg_read:
	mov $FW_CFG_SELECTOR, %dx
	out %ax, (%dx)
	mov $FW_CFG_DATA, %dx
	mov %ebp, %edi
1:	in (%dx), %al
	stosb
	loop 1b
	ret

# puts: writes the NUL-terminated string at ESI to COM1. Clobbers EAX, EDX, ESI.
puts:
	mov $COM1, %dx
1:	lodsb
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	ret

# puthex8: writes EAX as 8 lowercase hex digits. Clobbers EAX, EBX, ECX, EDX.
puthex8:
	mov %eax, %ebx
	mov $32, %ecx
	mov $COM1, %dx
1:	sub $4, %ecx
	mov %ebx, %eax
	shr %cl, %eax
	and $0xf, %eax
	movb hexdigits(%eax), %al
	out %al, (%dx)
	test %ecx, %ecx
	jnz 1b
	ret

# putdec: writes EAX in decimal. Clobbers EAX, EBX, ECX, EDX.
putdec:
	mov $10, %ecx
	xor %ebx, %ebx
1:	xor %edx, %edx
	div %ecx
	push %edx			# digits come out least significant first
	inc %ebx
	test %eax, %eax
	jnz 1b
	mov $COM1, %dx
2:	pop %eax
	add $'0', %al
	out %al, (%dx)
	dec %ebx
	jnz 2b
	ret

hexdigits:	.ascii "0123456789abcdef"
s_sig:		.asciz "fw_cfg: sig="
s_cpus:		.asciz " cpus="
s_ram:		.asciz " ram="
