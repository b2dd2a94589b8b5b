# spinlock: every vCPU takes one spin lock with LOCK CMPXCHG and, holding it, increments a shared counter
# with a plain load, add and store (no LOCK) N times; the boot CPU checks the total is cpus * N.
# The CPU count comes from the MP table tsvmm writes (as smp.S reads it). The APs are woken with
# INIT-SIPI-SIPI and enter protected mode (see start_aps).
# Flat, 32-bit protected mode at 0x100000; run: tsvmm run --mode protected --irqchip --cpus 4 FILE.
# Output:
#   spinlock: <cpus> cpus x 10000 = <total>, <n> failed acquisitions
# Exit: 0x10 (status 33). Failures: 0x81 no MP table, 0x82 the APs did not all finish within 20 s, 0x83 a
# wrong total (printed), 0x84 the lock was found taken at the end; 0x4f an unexpected vector.
	.code32
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0xf4
	.set LAPIC, 0xfee00000
	.set LAPIC_SVR, LAPIC + 0xf0
	.set LAPIC_ICR_LOW, LAPIC + 0x300
	.set ICR_INIT_ALL_BUT_SELF, 0x000c4500
	.set ICR_SIPI_ALL_BUT_SELF, 0x000c4600
	.set TRAMPOLINE, 0x7000
	.set N, 10000
	.set PM_1MS, 3580

	.text
	.globl _start
_start:
	cli
	mov $stack_top, %esp
	call setup_idt
	call pm_find
	# The CPU count: processor entries in the MP table ("_MP_" in the EBDA's last KiB).
	mov $0x9fc00, %esi
1:	cmpl $0x5f504d5f, (%esi)
	je 2f
	add $16, %esi
	cmp $0xa0000, %esi
	jb 1b
	mov $0x81, %eax
	jmp fail
2:	mov 4(%esi), %esi
	movzwl 34(%esi), %ecx
	lea 44(%esi), %esi
	xor %ebx, %ebx
3:	movzbl (%esi), %eax
	test %eax, %eax
	jnz 4f
	inc %ebx
	add $20, %esi
	jmp 5f
4:	add $8, %esi
5:	loop 3b
	mov %ebx, cpus

	movl $0x1ff, LAPIC_SVR
	call start_aps
	call work
	# Wait for the APs (cpus - 1 of them) to finish, up to 20 s of PM time (5 PM-timer periods of 4 s).
	mov cpus, %edi
	dec %edi
	mov $5, %esi
6:	call pm_now
	mov %eax, %ebx
7:	cmp finished, %edi
	je 8f
	pause
	call pm_since
	cmp $(4000 * PM_1MS), %eax
	jb 7b
	dec %esi
	jnz 6b
	mov $0x82, %eax
	jmp fail
8:	mov $s_spin, %esi
	call puts
	mov cpus, %eax
	call putdec
	mov $s_times, %esi
	call puts
	mov counter, %eax
	call putdec
	mov $s_failed, %esi
	call puts
	mov contended, %eax
	call putdec
	mov $s_acq, %esi
	call puts
	mov cpus, %eax
	imul $N, %eax
	cmp counter, %eax
	mov $0x83, %eax
	jne fail
	cmpl $0, spin_lock
	mov $0x84, %eax
	jne fail
	mov $0x10, %eax
	out %eax, $DEBUG_EXIT
1:	hlt
	jmp 1b

ap_main:
	call work
	lock incl finished
1:	cli
	hlt
	jmp 1b

# work: N times: take the lock, counter += 1 without LOCK (load, add, store), release. Failed attempts
# are added to `contended` at the end.
work:
	mov $N, %ecx
	xor %edi, %edi			# this CPU's failed attempts
1:	mov $1, %edx
2:	xor %eax, %eax
	lock cmpxchg %edx, spin_lock
	jz 4f
	inc %edi
3:	pause				# wait for it to look free before trying again
	cmpl $0, spin_lock
	jne 3b
	jmp 2b
4:	mov counter, %eax		# the critical section: a plain read-modify-write
	add $1, %eax
	mov %eax, counter
	movl $0, spin_lock		# release (a store is a release on x86)
	loop 1b
	lock add %edi, contended
	ret

	.balign 4
cpus:		.long 0
spin_lock:	.long 0
counter:	.long 0
finished:	.long 0
contended:	.long 0
s_spin:		.asciz "spinlock: "
s_times:	.asciz " cpus x 10000 = "
s_failed:	.asciz ", "
s_acq:		.asciz " failed acquisitions\n"

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
