// bench/coldstart: from process start to the first serial byte of a Multiboot kernel (guests/multiboot_kernel.S),
// tsvmm (`tsvmm run --accel A --kernel FILE`) against QEMU (`qemu-system-x86_64 -kernel FILE`) booting the same
// file, interleaved, medians of several rounds. Two rows: KVM against QEMU with KVM ("coldstart", skipped
// without /dev/kvm), and tsvmm's emulator against QEMU's TCG ("coldstart-emu"). Each process runs to its end
// (the kernel exits through isa-debug-exit), so one never overlaps the next.
import { buildElf } from "../test/helpers/build_guest.js";
import { ensureQemu, QEMU, skippedWithoutKvm } from "./references.js";
import { median } from "./stats.js";
import { type RunExpectation, runVmm, tsvmmCommand, type VmmCommand } from "./vmm_process.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

function expectation(who: string): RunExpectation {
  // The kernel writes 0x21 to isa-debug-exit, and its first line is "cmdline: ..." (see its header).
  return { status: (0x21 << 1) | 1, outputPrefix: "cmdline:", timeoutMs: 120_000, who };
}

/** Interleaved rounds of both; prints "NAME: tsvmm X ms, qemu Y ms, ratio R". */
async function compare(name: string, tsvmm: VmmCommand, qemu: VmmCommand): Promise<void> {
  const expect = expectation(name);
  const first = async (vmm: VmmCommand) => (await runVmm(vmm, expect)).firstByteMs;
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate who goes first, so neither always runs with the other's freshly warmed caches.
    if (i % 2 === 0) {
      ours.push(await first(tsvmm));
      theirs.push(await first(qemu));
    } else {
      theirs.push(await first(qemu));
      ours.push(await first(tsvmm));
    }
  }
  const t = median(ours);
  const q = median(theirs);
  console.log(
    `${name}: tsvmm ${t.toFixed(1)} ms, ${qemu.name} ${q.toFixed(1)} ms, ratio ${(t / q).toFixed(3)} (median of ${ROUNDS})`,
  );
}

export async function coldstartBenchmark(): Promise<void> {
  ensureQemu("coldstart");
  const kernel = buildElf("multiboot_kernel.S", "multiboot_kernel.ld", "elf32");
  const qemuArgs = (accel: string) => [
    ...["-accel", accel, "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot"],
    ...["-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", kernel],
  ];
  if (!skippedWithoutKvm("coldstart")) {
    await compare("coldstart", tsvmmCommand("tsvmm", ["run", "--accel", "kvm", "--kernel", kernel]), {
      name: "qemu",
      command: QEMU,
      args: qemuArgs("kvm"),
    });
  }
  await compare("coldstart-emu", tsvmmCommand("tsvmm", ["run", "--accel", "emu", "--kernel", kernel]), {
    name: "qemu-tcg",
    command: QEMU,
    args: qemuArgs("tcg"),
  });
}
