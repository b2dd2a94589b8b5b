# bench_compute: a compute-bound Multiboot (0.6.96) ELF32 kernel for bench/emu (guest instructions per second).
# Build: buildElf("bench_compute.S", "multiboot_kernel.ld", "elf32") (the Multiboot test kernel's linker script).
# Run:   tsvmm run --accel emu --kernel FILE --append N
#        qemu-system-x86_64 -accel tcg -kernel FILE -append N -device isa-debug-exit,iobase=0xf4,iosize=4 ...
#
# N, the iteration count, is the last run of decimal digits on the command line (QEMU puts the kernel's path
# first, tsvmm passes --append as is); it must be at least 1. Each iteration runs exactly LOOP_INSNS = 13
# instructions whichever way its branch goes: a load and a store into a 256-entry table, ALU operations and
# a data-dependent branch. Everything else is the same for every N except parsing N: PARSE_INSNS_PER_DIGIT = 10
# instructions per digit. So a run with N iterations executes 13 * (N - 1) + 10 * (digits(N) - 1) more guest
# instructions than a run with 1 iteration (bench/emu.ts counts with this; keep them in step). Checked against
# the emulator's count of retired instructions for N = 9, 10, 1000 and 1234567 (a run with 1 retires 3302).
# The guest uses only simple 32-bit integer instructions (no shifts, MUL/DIV or string instructions) and no
# data-dependent instruction counts outside the loop (hex digits are built with ADD/ADC, not branches).
#
# Output on COM1:
#   result: <A> <B> <S>      (A and B: the loop's two accumulators, S: the table's sum; 8 hex digits each)
#   ok                       (the table's sum equals N: every iteration stored once) -> exit 0x21, status 67
#   bad sum                  (otherwise)                                               -> exit 0x7f, status 255
# "bad count" (no digits, or N = 0) and "bad magic" (EAX is not 0x2BADB002) also exit 0x7f.
# A and B depend on every iteration's arithmetic and branch: bench/emu.ts checks that both VMMs print the same line.
	.set MB_MAGIC, 0x1BADB002
	.set MB_FLAGS, 0x00000003
	.set MB_BOOT_MAGIC, 0x2BADB002
	.set COM1, 0x3f8
	.set DEBUG_EXIT, 0xf4
	.set MBI_FLAGS, 0
	.set MBI_CMDLINE, 16
	.set TABLE_ENTRIES, 256

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.code32
	.text
	.globl _start
_start:
	mov $stack_top, %esp
	cmp $MB_BOOT_MAGIC, %eax
	jne bad_magic
	testl $1 << 2, MBI_FLAGS(%ebx)
	jz bad_count
	mov MBI_CMDLINE(%ebx), %esi

	# ECX = the value of the last run of decimal digits (10 instructions per digit, from 1: to jmp 1b).
	xor %ecx, %ecx
1:	movzbl (%esi), %eax
	inc %esi
	test %eax, %eax
	jz 3f
	sub $'0', %eax
	cmp $9, %eax
	ja 2f				# not a digit: the next run starts afresh
	lea (%ecx,%ecx,4), %ecx		# ECX * 5
	lea (%eax,%ecx,2), %ecx		# ECX * 10 + digit
	jmp 1b
2:	xor %ecx, %ecx
	jmp 1b
3:	test %ecx, %ecx
	jz bad_count
	mov %ecx, iterations

	# Zero the table (the loader zeroes .bss, but the count must not depend on it).
	mov $table, %esi
	xor %eax, %eax
	xor %edx, %edx
1:	mov %eax, (%esi,%edx,4)
	inc %edx
	cmp $TABLE_ENTRIES, %edx
	jne 1b

	# The measured loop: ECX counts down from N to 1. EBX and EDI accumulate, ESI = table.
	xor %ebx, %ebx
	xor %edi, %edi
loop:
	mov %ecx, %edx			# 1
	and $TABLE_ENTRIES - 1, %edx	# 2  index
	mov (%esi,%edx,4), %eax		# 3  load
	inc %eax			# 4
	mov %eax, (%esi,%edx,4)		# 5  store
	add %eax, %ebx			# 6
	xor %ecx, %ebx			# 7
	cmp $TABLE_ENTRIES / 2, %edx	# 8
	jb 2f				# 9  taken for half the indices
	sub %edx, %edi			# 10
	jmp 3f				# 11
2:	add %ebx, %edi			# 10
	or $1, %edi			# 11
3:	dec %ecx			# 12
	jnz loop			# 13

	# S = the table's sum, which must be N.
	xor %eax, %eax
	xor %edx, %edx
1:	add (%esi,%edx,4), %eax
	inc %edx
	cmp $TABLE_ENTRIES, %edx
	jne 1b
	mov %eax, sum

	mov $s_result, %esi
	call puts
	mov %ebx, %eax
	call puthex8
	call space
	mov %edi, %eax
	call puthex8
	call space
	mov sum, %eax
	call puthex8
	call newline
	mov sum, %eax
	cmp iterations, %eax
	jne bad_sum
	mov $s_ok, %esi
	call puts
	call newline
	mov $0x21, %eax
	jmp exit

bad_sum:
	mov $s_bad_sum, %esi
	jmp fail
bad_count:
	mov $s_bad_count, %esi
	jmp fail
bad_magic:
	mov $s_bad_magic, %esi
fail:
	call puts
	call newline
	mov $0x7f, %eax
exit:
	mov $DEBUG_EXIT, %dx
	outl %eax, (%dx)		# isa-debug-exit: the VM ends here
1:	hlt
	jmp 1b

# puts: writes the NUL-terminated string at ESI to COM1. Clobbers EAX, EDX, ESI.
puts:
	mov $COM1, %dx
1:	movzbl (%esi), %eax
	inc %esi
	test %eax, %eax
	jz 2f
	out %al, (%dx)
	jmp 1b
2:	ret

newline:
	mov $'\n', %al
	jmp putc
space:
	mov $' ', %al
putc:
	mov $COM1, %dx
	out %al, (%dx)
	ret

# puthex8: writes EAX as 8 lowercase hex digits, most significant first, without shifts or data-dependent
# branches: each digit is 4 bits moved out of the top of EBX with ADD and into EAX with ADC.
# Clobbers EAX, ECX, EDX, EBP.
puthex8:
	push %ebx
	mov %eax, %ebx
	mov $8, %ecx
	mov $COM1, %dx
1:	xor %eax, %eax
	mov $4, %ebp
2:	add %ebx, %ebx			# the top bit into CF
	adc %eax, %eax			# and into EAX's bottom
	dec %ebp
	jnz 2b
	movb hexdigits(%eax), %al
	out %al, (%dx)
	dec %ecx
	jnz 1b
	pop %ebx
	ret

	.section .rodata
hexdigits:	.ascii "0123456789abcdef"
s_result:	.asciz "result: "
s_ok:		.asciz "ok"
s_bad_sum:	.asciz "bad sum"
s_bad_count:	.asciz "bad count"
s_bad_magic:	.asciz "bad magic"

	# Data on pages of their own: a store to a page holding code makes both QEMU and tsvmm drop the code
	# translated from it (self-modifying code), which would be measured instead of the loop.
	.bss
	.balign 4096
iterations:	.skip 4
sum:		.skip 4
	.balign 16
table:	.skip TABLE_ENTRIES * 4
stack:	.skip 4096
stack_top:
