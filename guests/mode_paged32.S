# mode_paged32: proves tsvmm's `--mode paged32` entry state for flat binaries.
# Build: buildFlat("mode_paged32.S", 0x100000); run: tsvmm run --mode paged32 FILE (load 0x100000).
# Entry state expected: as --mode protected (CS 0x08, data 0x10, ESP=0x8ff0) plus CR0.PG with 32-bit
# paging, CR4.PSE and 4 MiB pages identity-mapping the first 4 GiB (CR4.PAE clear).
#
# Expected output on COM1 (one line, then the VM ends):
#   paged32: cr0.pg=1 cr4.pse=1 cr4.pae=0 cs=0008 pde(ffc00000)=ffc00083
# pde(ffc00000) is PDE 1023, which maps the last 4 MiB below 4 GiB, read through CR3 (the page directory is
# itself identity-mapped) and masked with 0xffc00083 (address | PS | R/W | P): the identity map reaches 4 GiB.
# Not runnable on this machine: kvm-pvm (the nested KVM here) supports paging only in long mode. A VMM that
# sets CR0.PG without EFER.LME gets KVM_EXIT_SHUTDOWN on the first KVM_RUN (dmesg says so), and a guest that
# sets it itself triple-faults. It needs a host with VT-x or AMD-V.
# Exit: outl 0x12 to port 0xf4 (isa-debug-exit) -> process exit status (0x12<<1)|1 = 37.
	.code32
	.text
	.globl _start
_start:
	mov $s_head, %esi
	call puts
	mov %cr0, %eax
	shr $31, %eax			# CR0.PG (bit 31)
	call putbit
	mov $s_pse, %esi
	call puts
	mov %cr4, %eax
	shr $4, %eax			# CR4.PSE (bit 4)
	and $1, %eax
	call putbit
	mov $s_pae, %esi
	call puts
	mov %cr4, %eax
	shr $5, %eax			# CR4.PAE (bit 5)
	and $1, %eax
	call putbit

	mov $s_cs, %esi
	call puts
	mov %cs, %eax
	mov $4, %ecx
	call puthex

	mov $s_pde, %esi
	call puts
	mov %cr3, %eax
	and $0xfffff000, %eax		# the page directory's physical (= linear) address
	mov 1023*4(%eax), %eax		# PDE 1023 maps 0xffc00000..0xffffffff
	and $0xffc00083, %eax
	mov $8, %ecx
	call puthex

	mov $0x3f8, %dx
	mov $'\n', %al
	out %al, (%dx)
	mov $0x12, %eax
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

# puthex: writes the low ECX (1..8) hex digits of EAX, lowercase. Clobbers EAX, EBX, ECX, EDX.
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
s_head:	.asciz "paged32: cr0.pg="
s_pse:	.asciz " cr4.pse="
s_pae:	.asciz " cr4.pae="
s_cs:	.asciz " cs="
s_pde:	.asciz " pde(ffc00000)="
