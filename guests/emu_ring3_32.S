# emu_ring3_32: privilege changes in 32-bit protected mode, checked by the guest itself.
# Build: buildFlat("emu_ring3_32.S", 0x100000); run: tsvmm run --mode protected FILE (load 0x100000).
# The guest loads its own GDT (far JMP to reload CS), an IDT and a TSS, then:
#   1. far CALL (9A and FF /3) and RETF at CPL 0; LTR marks the TSS busy; STR, LAR, LSL, VERR, VERW;
#   2. IRET to ring 3 (CPL 3 checked), INT $0x80 through a DPL-3 interrupt gate to ring 0 (the frame and the
#      TSS's ESP0 checked) and IRET back;
#   3. SYSENTER to ring 0 and SYSEXIT back to ring 3 (selectors from IA32_SYSENTER_CS);
#   4. CLI at CPL 3 with IOPL 0: #GP(0) to ring 0, which skips it;
#   5. a far CALL through a DPL-3 call gate with one parameter to ring 0 (stack switch, parameter copied),
#      back with RETF 4 to ring 3;
#   6. a return to ring 3 with RETF (outer privilege) that nulls DS, which held a DPL-0 segment.
# Each step checks CS & 3. Ring 3 cannot do port I/O: it reports through INT $0x80 (EAX = 0: done,
# EAX = 9: failure with the step in EBX).
# Expected output on COM1: "ring3_32: ok\n"; exit: outl 0x10 to port 0xf4 -> status 33.
# On failure: "ring3_32: FAIL xx\n" (xx = the failed check) and outl 0x40 + xx -> another status.
	.code32
	.text
	.globl _start

	.set KCODE, 0x08
	.set KDATA, 0x10
	.set UCODE, 0x1b
	.set UDATA, 0x23
	.set TSSSEL, 0x28
	.set GATESEL, 0x33
	.set KSTACK, 0x7000		# ESP0 in the TSS
	.set SYSSTACK, 0x7800		# IA32_SYSENTER_ESP
	.set USTACK, 0x6000

.macro KFAIL code
	mov $\code, %edi
	jmp fail
.endm
.macro UFAIL code
	mov $\code, %ebx
	mov $9, %eax
	int $0x80
.endm

_start:
	lgdt gdt_desc
	ljmp $KCODE, $1f		# EA: a far JMP reloads CS from the new GDT
1:	mov $KDATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov $KSTACK, %esp

	# Far CALL / RETF at the same privilege.
	xor %eax, %eax
	lcall $KCODE, $farfn		# 9A
	cmp $0x1234, %eax
	je 1f
	KFAIL 0x01
1:	xor %eax, %eax
	lcall *farptr			# FF /3, m16:32
	cmp $0x1234, %eax
	je 1f
	KFAIL 0x02
1:	mov $KSTACK, %eax
	cmp %eax, %esp
	je 1f
	KFAIL 0x03

	# The TSS descriptor (base known only at link time) and the call gate.
	# (Halves through memory: no shifts, so this runs on an emulator without them.)
1:	movl $tss, scratch
	mov scratch, %ax
	mov %ax, gdt + TSSSEL + 2
	mov scratch + 2, %ax
	mov %al, gdt + TSSSEL + 4
	mov %ah, gdt + TSSSEL + 7
	movl $callgate_fn, scratch
	mov scratch, %ax
	mov %ax, gdt + 0x30
	mov scratch + 2, %ax
	mov %ax, gdt + 0x30 + 6

	# IDT: #GP (13) at DPL 0, INT 0x80 at DPL 3 (both 32-bit interrupt gates).
	mov $13, %ecx
	mov $gp_handler, %eax
	mov $0x8e00, %edx
	call set_gate
	mov $0x80, %ecx
	mov $int80_handler, %eax
	mov $0xee00, %edx
	call set_gate
	lidt idt_desc

	mov $TSSSEL, %ax
	ltr %ax
	str %eax
	cmp $TSSSEL, %eax
	je 1f
	KFAIL 0x04
1:	movb gdt + TSSSEL + 5, %al	# busy: type 0xb
	and $0xf, %al
	cmp $0xb, %al
	je 1f
	KFAIL 0x05
1:	mov $UCODE, %ecx
	lar %ecx, %eax
	jnz 9f
	and $0xff00, %eax
	cmp $0xfa00, %eax		# present, DPL 3, code execute/read
	je 1f
9:	KFAIL 0x06
1:	mov $TSSSEL, %ecx
	lsl %ecx, %eax
	jnz 9f
	cmp $0x67, %eax
	je 1f
9:	KFAIL 0x07
1:	mov $UCODE, %ecx
	verr %cx			# readable code: ZF = 1
	jz 1f
	KFAIL 0x08
1:	verw %cx			# code is never writable: ZF = 0
	jnz 1f
	KFAIL 0x09
1:	mov $0x1000, %ecx		# beyond the GDT: ZF = 0, no fault
	verr %cx
	jnz 1f
	KFAIL 0x0a

	# SYSENTER MSRs: CS (user CS = +16, user SS = +24), ESP, EIP.
1:	mov $0x174, %ecx
	mov $KCODE, %eax
	xor %edx, %edx
	wrmsr
	mov $0x175, %ecx
	mov $SYSSTACK, %eax
	wrmsr
	mov $0x176, %ecx
	mov $sysenter_entry, %eax
	wrmsr

	# To ring 3 with IRET: SS, ESP, EFLAGS, CS, EIP.
	push $UDATA
	push $USTACK
	pushf
	push $UCODE
	push $user
	iret

# ---- ring 3 ----
user:
	mov %cs, %eax
	and $3, %eax
	cmp $3, %eax
	je 1f
	UFAIL 0x10
1:	mov %ss, %eax
	cmp $UDATA, %eax
	je 1f
	UFAIL 0x11
1:	mov $UDATA, %ax
	mov %ax, %ds
	mov %ax, %es

	# INT $0x80 to ring 0 and IRET back.
	mov $1, %eax
	int $0x80
	cmp $0xcafe, %eax
	je 1f
	UFAIL 0x12
1:	mov %cs, %eax
	and $3, %eax
	cmp $3, %eax
	je 1f
	UFAIL 0x13
1:	cmp $USTACK, %esp
	je 1f
	UFAIL 0x14

	# SYSENTER / SYSEXIT.
1:	mov $2, %eax
	mov %esp, %ecx
	mov $after_sysexit, %edx
	sysenter
after_sysexit:
	cmp $0xbeef, %eax
	je 1f
	UFAIL 0x15
1:	mov %cs, %eax
	cmp $UCODE, %eax
	je 1f
	UFAIL 0x16
1:	mov %ss, %eax
	cmp $UDATA, %eax
	je 1f
	UFAIL 0x17

	# CLI at CPL 3 with IOPL 0: #GP(0), which the handler skips.
1:	cli
	mov $3, %eax
	int $0x80
	cmp $1, %eax			# the #GP count
	je 1f
	UFAIL 0x18

	# A call gate to ring 0 with one parameter, back with RETF 4.
1:	mov %esp, %esi
	push $0x77
	lcall $GATESEL, $0		# the offset is ignored through a gate
	cmp %esi, %esp
	je 1f
	UFAIL 0x19
1:	cmp $0x5a5a, %eax
	je 1f
	UFAIL 0x1a
1:	mov %cs, %eax
	cmp $UCODE, %eax
	je 1f
	UFAIL 0x1b

	# RETF from ring 0 to ring 3 (INT $0x80 with EAX = 5 returns that way, DS = a DPL-0 segment).
1:	mov $5, %eax
	int $0x80
	mov %ds, %eax
	test %eax, %eax			# nulled by the return to CPL 3
	jz 1f
	mov $UDATA, %ax
	mov %ax, %ds
	UFAIL 0x1c
1:	mov %es, %eax
	cmp $UDATA, %eax		# ES held a DPL-3 segment: kept
	je 1f
	mov $UDATA, %ax
	mov %ax, %ds
	UFAIL 0x1d
1:	mov $UDATA, %ax
	mov %ax, %ds
	mov %cs, %eax
	and $3, %eax
	cmp $3, %eax
	je 1f
	UFAIL 0x1e

1:	xor %eax, %eax
	int $0x80			# done
2:	jmp 2b

# ---- ring 0 ----
farfn:
	mov %cs, %eax
	cmp $KCODE, %eax
	jne 1f
	mov $0x1234, %eax
1:	lret

# INT $0x80: EAX selects: 0 done, 1 return 0xcafe, 2 unused, 3 the #GP count, 5 RETF to ring 3, 9 failure.
int80_handler:
	mov %cs, %edx
	and $3, %edx
	jz 1f
	KFAIL 0x20
1:	cmpl $UCODE, 4(%esp)		# the frame: EIP, CS, EFLAGS, ESP, SS
	je 1f
	KFAIL 0x21
1:	cmpl $UDATA, 16(%esp)
	je 1f
	KFAIL 0x22
1:	cmp $KSTACK - 20, %esp		# on the TSS's ring-0 stack
	je 1f
	KFAIL 0x23
1:	mov %ss, %edx
	cmp $KDATA, %edx
	je 1f
	KFAIL 0x24
1:	cmp $9, %eax
	jne 1f
	jmp user_fail			# a failure ring 3 reported: the check's code is in EBX
1:	test %eax, %eax
	jz done
	cmp $1, %eax
	jne 1f
	mov $0xcafe, %eax
	iret
1:	cmp $3, %eax
	jne 1f
	mov gp_count, %eax
	iret
1:	cmp $5, %eax
	jne 1f
	# Rebuild the frame as a far return: EIP, CS, then ESP, SS stay where they are; drop EFLAGS.
	mov 0(%esp), %eax
	mov 4(%esp), %ebx
	add $12, %esp
	push %ebx
	push %eax
	mov $KDATA, %ax
	mov %ax, %ds			# DPL 0: the return to CPL 3 nulls it
	lret
1:	KFAIL 0x25

# SYSENTER: CPL 0 with CS = IA32_SYSENTER_CS, SS = CS + 8, ESP from the MSR.
sysenter_entry:
	mov %cs, %eax
	cmp $KCODE, %eax
	je 1f
	KFAIL 0x30
1:	mov %ss, %eax
	cmp $KDATA, %eax
	je 1f
	KFAIL 0x31
1:	cmp $SYSSTACK, %esp
	je 1f
	KFAIL 0x32
1:	mov $0xbeef, %eax
	sysexit				# ECX = ESP, EDX = EIP, kept from ring 3

# #GP: from ring 3 with error code 0; skips the one-byte instruction.
gp_handler:
	cmpl $0, 0(%esp)
	je 1f
	KFAIL 0x40
1:	cmpl $UCODE, 8(%esp)
	je 1f
	KFAIL 0x41
1:	incl gp_count
	addl $1, 4(%esp)
	add $4, %esp
	iret

# The call gate's target: CPL 0 on the TSS's stack with EIP, CS, the parameter, ESP, SS.
callgate_fn:
	mov %cs, %eax
	cmp $KCODE, %eax
	je 1f
	KFAIL 0x50
1:	cmpl $0x77, 8(%esp)
	je 1f
	KFAIL 0x51
1:	cmpl $UCODE, 4(%esp)
	je 1f
	KFAIL 0x52
1:	cmpl $UDATA, 16(%esp)
	je 1f
	KFAIL 0x53
1:	cmp $KSTACK - 20, %esp
	je 1f
	KFAIL 0x54
1:	mov $0x5a5a, %eax
	lret $4

# set_gate: IDT[ECX] = 32-bit gate to EAX (selector KCODE) with access word EDX.
set_gate:
	lea idt(,%ecx,8), %ebx
	mov %eax, scratch
	mov %ax, (%ebx)
	movw $KCODE, 2(%ebx)
	mov %dx, 4(%ebx)
	mov scratch + 2, %ax
	mov %ax, 6(%ebx)
	ret

user_fail:
	mov %ebx, %edi
fail:
	mov $KDATA, %ax
	mov %ax, %ds
	mov $s_fail, %esi
	call puts
	mov %edi, %eax
	call puthex2
	mov $s_nl, %esi
	call puts
	mov %edi, %eax
	add $0x40, %eax
	mov $0xf4, %dx
	out %eax, (%dx)
1:	hlt
	jmp 1b

done:
	mov $s_ok, %esi
	call puts
	mov $0x10, %eax
	mov $0xf4, %dx
	out %eax, (%dx)
1:	hlt
	jmp 1b

# puts: the NUL-terminated string at ESI to COM1.
puts:
	mov $0x3f8, %dx
1:	movb (%esi), %al
	inc %esi
	test %al, %al
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	ret

# puthex2: the low byte of EAX as two hex digits.
puthex2:
	and $0xff, %eax
	xor %ecx, %ecx
1:	cmp $16, %eax			# high digit by subtraction (no shifts needed)
	jb 2f
	sub $16, %eax
	inc %ecx
	jmp 1b
2:	mov %eax, %ebx
	movb hexdigits(%ecx), %al
	mov $0x3f8, %dx
	out %al, (%dx)
	movb hexdigits(%ebx), %al
	out %al, (%dx)
	ret

	.balign 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	# 0x08 ring-0 code
	.quad 0x00cf92000000ffff	# 0x10 ring-0 data
	.quad 0x00cffa000000ffff	# 0x18 ring-3 code
	.quad 0x00cff2000000ffff	# 0x20 ring-3 data
	.quad 0x0000890000000067	# 0x28 32-bit TSS (base filled in)
	.quad 0x0000ec0100080000	# 0x30 call gate, DPL 3, 1 parameter, to 0x08 (offset filled in)
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.balign 8
idt:
	.fill 256, 8, 0
idt_desc:
	.word 256 * 8 - 1
	.long idt

farptr:
	.long farfn
	.word KCODE

gp_count:
	.long 0
scratch:
	.long 0

	.balign 16
tss:
	.long 0
	.long KSTACK			# ESP0
	.long KDATA			# SS0
	.fill 23, 4, 0
	.word 0
	.word 104			# no I/O bitmap
tss_end:

hexdigits: .ascii "0123456789abcdef"
s_ok:	.asciz "ring3_32: ok\n"
s_fail:	.asciz "ring3_32: FAIL "
s_nl:	.asciz "\n"
