# triple_fault: loads an empty IDT (limit 0) and raises an exception. The #UD cannot be delivered (vector 6
# lies past the IDT limit: #GP), neither can the #GP (#DF), nor the #DF: a triple fault, which KVM reports as
# KVM_EXIT_SHUTDOWN. Nothing after the ud2 may run.
# Build: buildFlat("triple_fault.S", 0x100000); run: tsvmm run --mode protected FILE (load 0x100000).
# Expected output on COM1: nothing. tsvmm reports the triple fault (KVM_EXIT_SHUTDOWN, RIP 0x100007 at the
# ud2) in a fault report on stderr, status 1.
# Why ud2 and not int3: on this machine's nested KVM (kvm-pvm) a software interrupt (int3, int $n) in
# protected mode cannot be emulated at all and ends in KVM_EXIT_INTERNAL_ERROR (emulation failure), not in
# a triple fault; exceptions the CPU raises itself (#UD, #DE) escalate to a shutdown as on hardware.
# Should the ud2 ever return, it prints "triple_fault: survived" and exits with code 0x7f (status 255).
	.code32
	.text
	.globl _start
_start:
	lidt idt_empty			# 7 bytes: the ud2 is at 0x100007
	ud2
	mov $s_survived, %esi
	mov $0x3f8, %dx
1:	lodsb
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	mov $0x7f, %eax
	mov $0xf4, %dx
	outl %eax, (%dx)
3:	hlt
	jmp 3b

	.balign 8
idt_empty:
	.word 0				# limit 0: no gate is valid
	.long 0				# base
s_survived:	.asciz "triple_fault: survived\n"
