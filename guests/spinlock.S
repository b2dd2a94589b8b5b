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

.include "lib/pm_timer32.inc"
.include "lib/ap_start32.inc"
.include "lib/apic_runtime32.inc"
