# apic_ipi: self-IPIs, then an IPI from the boot CPU to an application processor.
# Flat, 32-bit protected mode at 0x100000; run: tsvmm run --mode protected --irqchip --cpus 2 FILE.
#   1. Self-IPI of vector 0x60 through the ICR's "self" shorthand, then to the BSP's own APIC ID (physical,
#      no shorthand): the handler runs once for each, on APIC ID 0.
#   2. The BSP wakes the AP with INIT-SIPI-SIPI; the AP enters protected mode, loads the shared IDT,
#      software-enables its local APIC, says ready and halts with interrupts on. The BSP sends a fixed IPI
#      of vector 0x61 to the AP's APIC ID; the AP's handler records the APIC ID it runs on. The BSP checks
#      the vector ran once, on the AP, and not on itself.
# Output:
#   self-ipi: vector 0x60 twice on apic 0
#   ipi: vector 0x61 from apic 0 to apic <n>, handled there
# Exit: 0x10 (status 33). Failures: 0x71 the shorthand self-IPI did not arrive once, 0x72 the physical one,
# 0x73 the AP never said ready, 0x74 the IPI never ran, 0x75 it ran on the wrong CPU, 0x76 it ran more than
# once, 0x77 a self-IPI ran on another CPU; 0x4f an unexpected vector.
	.code32
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0xf4
	.set LAPIC, 0xfee00000
	.set LAPIC_ID, LAPIC + 0x20
	.set LAPIC_EOI, LAPIC + 0xb0
	.set LAPIC_SVR, LAPIC + 0xf0
	.set LAPIC_ICR_LOW, LAPIC + 0x300
	.set LAPIC_ICR_HIGH, LAPIC + 0x310
	.set ICR_SELF, 0x40000
	.set ICR_PENDING, 0x1000
	.set ICR_INIT_ALL_BUT_SELF, 0x000c4500
	.set ICR_SIPI_ALL_BUT_SELF, 0x000c4600
	.set TRAMPOLINE, 0x7000
	.set PM_1MS, 3580

	.text
	.globl _start
_start:
	cli
	mov $stack_top, %esp
	call setup_idt
	mov $0x60, %ecx
	mov $self_handler, %eax
	call set_gate
	mov $0x61, %ecx
	mov $ipi_handler, %eax
	call set_gate
	call pm_find
	movl $0x1ff, LAPIC_SVR

	# 1. Self-IPIs.
	movl $(ICR_SELF | 0x60), LAPIC_ICR_LOW
	call open_window
	mov $0x71, %eax
	cmpl $1, self_count
	jne fail
	mov LAPIC_ID, %ebx
	mov %ebx, LAPIC_ICR_HIGH	# destination: our own APIC ID (ID is in bits 31:24 of both)
	movl $0x60, LAPIC_ICR_LOW	# fixed, physical, no shorthand
	call open_window
	mov $0x72, %eax
	cmpl $2, self_count
	jne fail
	mov $0x77, %eax
	cmpl $0, self_elsewhere
	jne fail
	mov $s_self, %esi
	call puts

	# 2. Wake the AP and wait for it to say ready.
	call start_aps
	call pm_now
	mov %eax, %ebx
1:	cmpl $0, ap_ready
	jne 2f
	pause
	call pm_since
	cmp $(1000 * PM_1MS), %eax
	jb 1b
	mov $0x73, %eax
	jmp fail
2:	call wait_icr_idle
	mov ap_apic_id, %eax
	shl $24, %eax
	mov %eax, LAPIC_ICR_HIGH
	movl $0x61, LAPIC_ICR_LOW	# fixed, physical, edge
	call pm_now
	mov %eax, %ebx
3:	cmpl $0, ipi_count
	jne 4f
	pause
	call pm_since
	cmp $(1000 * PM_1MS), %eax
	jb 3b
	mov $0x74, %eax
	jmp fail
4:	call open_window		# anything else has 10 ms to show up
	mov $0x76, %eax
	cmpl $1, ipi_count
	jne fail
	mov $0x75, %eax
	mov ipi_cpu, %ebx
	cmp ap_apic_id, %ebx
	jne fail
	test %ebx, %ebx
	jz fail
	mov $s_ipi, %esi
	call puts
	mov ipi_cpu, %eax
	call putdec
	mov $s_there, %esi
	call puts
	mov $0x10, %eax
	out %eax, $DEBUG_EXIT
1:	hlt
	jmp 1b

# The AP: the shared IDT, its local APIC on, ready, halted with interrupts on.
ap_main:
	lidt idtr
	movl $0x1ff, LAPIC_SVR
	mov LAPIC_ID, %eax
	shr $24, %eax
	mov %eax, ap_apic_id
	lock incl ap_ready
1:	sti
	hlt
	jmp 1b

# open_window: 10 ms with interrupts on. Clobbers EAX, EBX, ECX, EDX.
open_window:
	sti
	mov $(10 * PM_1MS), %ecx
	call pm_wait
	cli
	ret

# wait_icr_idle: until the ICR's delivery status reads idle. Clobbers EAX.
wait_icr_idle:
1:	mov LAPIC_ICR_LOW, %eax
	test $ICR_PENDING, %eax
	jz 2f
	pause
	jmp 1b
2:	ret

self_handler:
	push %eax
	incl self_count
	mov LAPIC_ID, %eax
	test %eax, %eax
	jz 1f
	incl self_elsewhere
1:	movl $0, LAPIC_EOI
	pop %eax
	jmp interrupt_return

ipi_handler:
	push %eax
	mov LAPIC_ID, %eax
	shr $24, %eax
	mov %eax, ipi_cpu
	lock incl ipi_count
	movl $0, LAPIC_EOI
	pop %eax
	jmp interrupt_return

	.balign 4
self_count:	.long 0
self_elsewhere:	.long 0
ap_ready:	.long 0
ap_apic_id:	.long 0
ipi_count:	.long 0
ipi_cpu:	.long 0
s_self:		.asciz "self-ipi: vector 0x60 twice on apic 0\n"
s_ipi:		.asciz "ipi: vector 0x61 from apic 0 to apic "
s_there:	.asciz ", handled there\n"

# pm_find: the PM timer's port from the FADT (PM_TMR_BLK) into pm_port, found through the RSDP (0xe0000-
# 0xfffff) and the RSDT; 0x608 (tsvmm's port) when no FADT announces one. pm_source says which.
pm_find:
	movl $0x608, pm_port
	movl $s_default, pm_source
	mov $0xe0000, %esi
1:	cmpl $0x20445352, (%esi)	# "RSD "
	jne 2f
	cmpl $0x20525450, 4(%esi)	# "PTR "
	je 3f
2:	add $16, %esi
	cmp $0x100000, %esi
	jb 1b
	ret
3:	mov 16(%esi), %esi		# the RSDT
	cmpl $0x54445352, (%esi)	# "RSDT"
	jne 6f
	mov 4(%esi), %ecx		# its length
	sub $36, %ecx
	shr $2, %ecx
	lea 36(%esi), %edi
4:	test %ecx, %ecx
	jz 6f
	mov (%edi), %ebx
	cmpl $0x50434146, (%ebx)	# "FACP"
	je 5f
	add $4, %edi
	dec %ecx
	jmp 4b
5:	mov 76(%ebx), %eax		# PM_TMR_BLK
	test %eax, %eax
	jz 6f
	mov %eax, pm_port
	movl $s_fadt, pm_source
6:	ret

# pm_now: the PM timer's 24-bit count in EAX. Clobbers EDX.
pm_now:
	mov pm_port, %edx
	in (%dx), %eax
	and $0xffffff, %eax
	ret

# pm_since: PM ticks since the count in EBX (mod 2^24) in EAX. Clobbers EDX.
pm_since:
	call pm_now
	sub %ebx, %eax
	and $0xffffff, %eax
	ret

# pm_wait: busy-waits ECX PM ticks (ECX < 2^24). Clobbers EAX, EBX, EDX.
pm_wait:
	call pm_now
	mov %eax, %ebx
# pm_wait_from: busy-waits until ECX PM ticks have passed since the count in EBX. Clobbers EAX, EDX.
pm_wait_from:
1:	call pm_since
	cmp %ecx, %eax
	jb 1b
	ret

	.balign 4
pm_port:	.long 0x608
pm_source:	.long 0
s_fadt:		.asciz "fadt"
s_default:	.asciz "default"
# start_aps: copies the trampoline to 0x7000 and wakes every AP with INIT-SIPI-SIPI (all excluding self),
# as smp.S does. Each AP loads the trampoline's GDT (code 0x08, data 0x10, flat, as tsvmm's), enters
# protected mode and jumps to ap_main with a stack of its own. Clobbers EAX, ECX, ESI, EDI.
start_aps:
	mov $trampoline, %esi
	mov $TRAMPOLINE, %edi
	mov $(trampoline_end - trampoline), %ecx
	rep movsb
	movl $ICR_INIT_ALL_BUT_SELF, LAPIC_ICR_LOW
	movl $(ICR_SIPI_ALL_BUT_SELF | (TRAMPOLINE >> 12)), LAPIC_ICR_LOW
	movl $(ICR_SIPI_ALL_BUT_SELF | (TRAMPOLINE >> 12)), LAPIC_ICR_LOW
	ret

# ap_entry: 32-bit, flat segments; a 1 KiB stack per AP, in arrival order.
ap_entry:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $1, %eax
	lock xadd %eax, ap_arrivals
	inc %eax
	shl $10, %eax
	add $ap_stacks, %eax
	mov %eax, %esp
	jmp ap_main

	.balign 4
ap_arrivals:	.long 0

	.code16
trampoline:				# position independent, run at 0x0700:0000
	cli
	xor %ax, %ax
	mov %ax, %ds
	lgdtl TRAMPOLINE + (tgdt_desc - trampoline)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x08, $ap_entry
	.balign 8
tgdt:	.quad 0
	.quad 0x00cf9a000000ffff	# 0x08: code, flat, 32-bit
	.quad 0x00cf92000000ffff	# 0x10: data, flat
tgdt_desc:
	.word 3 * 8 - 1
	.long TRAMPOLINE + (tgdt - trampoline)
trampoline_end:
	.code32
	.balign 16
	.fill 32 * 1024, 1, 0
ap_stacks_end:
	.set ap_stacks, ap_stacks_end - 32 * 1024
# ---- common to the apic guests: IDT stubs, interrupt_return, console, failure exit ----

# setup_idt: every IDT entry becomes a 32-bit interrupt gate to its "unexpected" stub; loads the IDT and
# masks both 8259s (OCW1), so only the local APIC and the IOAPIC deliver. Clobbers EAX, ECX, EDX.
setup_idt:
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $4, %eax
	add $stubs, %eax
	call set_gate
	inc %ecx
	cmp $256, %ecx
	jb 1b
	lidt idtr
	mov $0xff, %al
	out %al, $0x21
	out %al, $0xa1
	ret

# set_gate: IDT entry ECX becomes a 32-bit interrupt gate (DPL 0, selector CS) to the handler at EAX.
set_gate:
	lea idt(,%ecx,8), %edx
	mov %ax, (%edx)
	push %eax
	mov %cs, %ax
	mov %ax, 2(%edx)
	pop %eax
	movw $0x8e00, 4(%edx)
	shr $16, %eax
	mov %ax, 6(%edx)
	ret

# interrupt_return: IRET without IRET (this host's KVM emulates ring-0 code and its instruction emulator
# runs IRET in real mode only; see pit_count.S). The frame is EIP, CS (unchanged), EFLAGS at CPL 0.
interrupt_return:
	push %eax
	mov 4(%esp), %eax
	push %ebx
	mov 16(%esp), %ebx
	mov %eax, 16(%esp)
	and $~0x200, %ebx
	mov %ebx, 12(%esp)
	pop %ebx
	pop %eax
	lea 4(%esp), %esp
	popf
	sti
	ret

# puts: the NUL-terminated string at ESI to COM1. Clobbers EAX, EDX, ESI.
puts:
	mov $COM1, %dx
1:	lodsb
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	ret

# putdec: EAX as unsigned decimal to COM1. Clobbers EAX, ECX, EDX.
putdec:
	xor %ecx, %ecx
1:	xor %edx, %edx
	push %ebx
	mov $10, %ebx
	div %ebx
	pop %ebx
	push %edx
	inc %ecx
	test %eax, %eax
	jnz 1b
	mov $COM1, %dx
2:	pop %eax
	add $'0', %al
	out %al, (%dx)
	loop 2b
	ret

# puthex8: AL as two lowercase hex digits. Clobbers EAX, EDX.
puthex8:
	push %ebx
	movzbl %al, %ebx
	mov $COM1, %dx
	mov %ebx, %eax
	shr $4, %eax
	movb hexdigits(%eax), %al
	out %al, (%dx)
	mov %ebx, %eax
	and $0xf, %eax
	movb hexdigits(%eax), %al
	out %al, (%dx)
	pop %ebx
	ret

newline:
	mov $'\n', %al
	mov $COM1, %dx
	out %al, (%dx)
	ret

# fail: prints "FAIL 0x<code>" and exits through isa-debug-exit with the code in EAX.
fail:
	cli
	push %eax
	mov $s_fail, %esi
	call puts
	mov (%esp), %eax
	call puthex8
	call newline
	pop %eax
	out %eax, $DEBUG_EXIT
1:	hlt
	jmp 1b

# unexpected: the stubs push their vector and come here: "unexpected vector 0x<hh>", exit code 0x4f.
unexpected:
	cli
	mov $s_unexpected, %esi
	call puts
	pop %eax
	call puthex8
	call newline
	mov $0x4f, %eax
	out %eax, $DEBUG_EXIT
1:	hlt
	jmp 1b

	.balign 16
stubs:
	.set vector, 0
	.rept 256
	.balign 16
	push $vector
	jmp unexpected
	.set vector, vector + 1
	.endr

hexdigits:	.ascii "0123456789abcdef"
s_fail:		.asciz "FAIL 0x"
s_unexpected:	.asciz "unexpected vector 0x"
	.balign 4
	.word 0
idtr:	.word 256 * 8 - 1
	.long idt
	.balign 8
idt:	.fill 256 * 8, 1, 0
	.balign 16
	.fill 4096, 1, 0
stack_top:
