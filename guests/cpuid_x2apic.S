# cpuid_x2apic: what CPUID leaf 1 tells the guest about its APIC and the hypervisor.
# Build: buildFlat("cpuid_x2apic.S", 0x100000); run: tsvmm run --mode protected [--cpu MODEL] FILE.
#
# Expected output on COM1 (one line; bits are 0 or 1, the APIC ID decimal):
#   x2apic=<CPUID.1:ECX bit 21> apic_id=<CPUID.1:EBX[31:24]> hypervisor=<CPUID.1:ECX bit 31>
# Exit: outl 0x41 to isa-debug-exit -> process exit status 131.
	.code32
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0xf4
	.set ECX_X2APIC, 21
	.set ECX_HYPERVISOR, 31

	.text
	.globl _start
_start:
	mov $1, %eax
	xor %ecx, %ecx
	cpuid
	mov %ecx, %edi			# the feature bits
	mov %ebx, %ebp			# the initial APIC ID in bits 31-24

	mov $s_x2apic, %esi
	call puts
	mov %edi, %eax
	shr $ECX_X2APIC, %eax
	and $1, %eax
	call putdec
	mov $s_apic_id, %esi
	call puts
	mov %ebp, %eax
	shr $24, %eax
	call putdec
	mov $s_hypervisor, %esi
	call puts
	mov %edi, %eax
	shr $ECX_HYPERVISOR, %eax
	call putdec
	mov $'\n', %al
	mov $COM1, %dx
	out %al, (%dx)

	mov $0x41, %eax
	out %eax, $DEBUG_EXIT
1:	jmp 1b

# puts: the NUL-terminated string at ESI to COM1. Clobbers EAX, EDX, ESI.
puts:
	mov $COM1, %dx
1:	lodsb
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	ret

# putdec: EAX (0..255) as unsigned decimal. Clobbers EAX, EBX, ECX, EDX.
putdec:
	xor %ecx, %ecx
	mov $10, %ebx
1:	xor %edx, %edx
	div %ebx
	push %edx			# digits come out least significant first
	inc %ecx
	test %eax, %eax
	jnz 1b
	mov $COM1, %dx
2:	pop %eax
	add $'0', %al
	out %al, (%dx)
	loop 2b
	ret

s_x2apic:	.asciz "x2apic="
s_apic_id:	.asciz " apic_id="
s_hypervisor:	.asciz " hypervisor="
