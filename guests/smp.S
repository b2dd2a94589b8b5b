# SMP bring-up, as firmware does it: the boot CPU walks the MP table tsvmm wrote, wakes the application
# processors with INIT-SIPI-SIPI through its local APIC, and waits for each to check in. Each AP starts in
# real mode at 0x7000, reads its initial APIC ID with CPUID and prints it under a spinlock.
# Flat, protected mode, at 0x100000; run with --cpus N (N <= 10).
# Output (AP lines in any order):
#   mptable: cpus=<N> ioapic=fec00000
#   ap <id>                  (one per AP, ids 1..N-1)
#   bsp: aps=<N-1>
# Exit: 0x30 through isa-debug-exit (status 97); 0x31 if the MP table is missing, 0x32 if APs do not all
# check in (status 99, 101).
	.code32
	.set COM1, 0x3f8
	.set LAPIC_SVR, 0xfee000f0
	.set LAPIC_ICR_LOW, 0xfee00300
	.set ICR_INIT_ALL_BUT_SELF, 0x000c4500
	.set ICR_SIPI_ALL_BUT_SELF, 0x000c4600
	.set TRAMPOLINE, 0x7000
	.set AP_COUNT, 0x6000
	.set PRINT_LOCK, 0x6004

_start:
	movl $0, AP_COUNT
	movl $0, PRINT_LOCK
	# Find "_MP_" on a 16-byte boundary in the EBDA's last KiB.
	mov $0x9fc00, %esi
1:	cmpl $0x5f504d5f, (%esi)
	je 2f
	add $16, %esi
	cmp $0xa0000, %esi
	jb 1b
	mov $0x31, %eax
	out %eax, $0xf4
2:	mov 4(%esi), %esi		# the configuration table
	movzwl 34(%esi), %ecx		# entry count
	lea 44(%esi), %esi		# first entry
	xor %ebx, %ebx			# processors
	xor %edi, %edi			# IOAPIC address
3:	movzbl (%esi), %eax
	test %eax, %eax
	jnz 4f
	inc %ebx			# type 0: processor, 20 bytes
	add $20, %esi
	jmp 6f
4:	cmp $2, %eax
	jne 5f
	mov 4(%esi), %edi		# type 2: IOAPIC
5:	add $8, %esi			# other entries are 8 bytes
6:	loop 3b
	mov %ebx, %ebp			# keep the CPU count
	mov $s_mptable, %esi
	call puts
	mov %ebp, %eax
	call putdec
	mov $s_ioapic, %esi
	call puts
	mov %edi, %eax
	call puthex32
	mov $'\n', %al
	call putc

	# Wake the APs: the trampoline goes to 0x7000 (SIPI vector 0x07).
	mov $trampoline, %esi
	mov $TRAMPOLINE, %edi
	mov $(trampoline_end - trampoline), %ecx
	rep movsb
	movl $0x1ff, LAPIC_SVR		# software-enable the local APIC, spurious vector 0xff
	movl $ICR_INIT_ALL_BUT_SELF, LAPIC_ICR_LOW
	movl $(ICR_SIPI_ALL_BUT_SELF | (TRAMPOLINE >> 12)), LAPIC_ICR_LOW
	movl $(ICR_SIPI_ALL_BUT_SELF | (TRAMPOLINE >> 12)), LAPIC_ICR_LOW

	lea -1(%ebp), %ebx		# APs expected
	mov $2000000, %ecx		# a bounded wait
7:	cmp AP_COUNT, %ebx
	je 8f
	pause
	loop 7b
	mov $0x32, %eax
	out %eax, $0xf4
8:	call lock
	mov $s_bsp, %esi
	call puts
	mov %ebx, %eax
	call putdec
	mov $'\n', %al
	call putc
	mov $0x30, %eax
	out %eax, $0xf4

lock:	mov $1, %al
1:	xchg %al, PRINT_LOCK
	test %al, %al
	jnz 1b
	ret

putc:	mov $COM1, %dx
	out %al, (%dx)
	ret

puts:	lodsb
	test %al, %al
	jz 1f
	call putc
	jmp puts
1:	ret

putdec:				# EAX < 100
	mov $10, %cl
	div %cl
	test %al, %al
	jz 1f
	add $'0', %al
	push %eax
	call putc
	pop %eax
1:	mov %ah, %al
	add $'0', %al
	jmp putc

puthex32:
	mov %eax, %edx
	mov $8, %ecx
1:	rol $4, %edx
	mov %edx, %eax
	and $0xf, %eax
	movb hexdigits(%eax), %al
	push %edx
	call putc
	pop %edx
	loop 1b
	ret

s_mptable: .asciz "mptable: cpus="
s_ioapic:  .asciz " ioapic="
s_bsp:     .asciz "bsp: aps="
hexdigits: .ascii "0123456789abcdef"

# The AP trampoline: position independent 16-bit code, run at 0x0700:0000.
	.code16
trampoline:
	cli
	xor %ax, %ax
	mov %ax, %ds
	mov $1, %al
1:	xchg %al, PRINT_LOCK		# take the print lock
	test %al, %al
	jnz 1b
	mov $1, %eax
	cpuid				# EBX[31:24]: initial APIC ID
	shr $24, %ebx
	mov $COM1, %dx
	mov $'a', %al
	out %al, (%dx)
	mov $'p', %al
	out %al, (%dx)
	mov $' ', %al
	out %al, (%dx)
	mov %bl, %al
	add $'0', %al
	out %al, (%dx)
	mov $'\n', %al
	out %al, (%dx)
	lock incl AP_COUNT
	movb $0, PRINT_LOCK
2:	cli
	hlt
	jmp 2b
trampoline_end:
