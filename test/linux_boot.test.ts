// Debian's stock cloud kernel (scripts/fetch-guest-kernel.sh) boots from its bzImage and from its vmlinux
// (PVH) with one and two vCPUs to tsvmm's /init (guests/linux/init.sh), which checks /proc/cmdline, the CPU
// count, MemTotal, /proc/iomem and the initrd's files, prints its marker and powers off through ACPI: status 0.
// On every usable accelerator. Where the emulator lacks an instruction the kernel needs (other issues' work),
// its cases say where it stops and skip; nothing else skips (but a nested PVM KVM's tens-of-minutes boot).
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { E820_ACPI, E820_RAM, type E820Entry, memoryMap } from "../src/arch/x86/memory_map.js";
import { accelerators } from "./helpers/kvm.js";
import {
  ensureLinuxGuest,
  INIT_OK,
  kvmLinuxSkipReason,
  LINUX_IMAGES,
  LINUX_MEMORY_MIB,
  linuxArgs,
  runLinux,
} from "./helpers/linux_guest.js";

/** A boot on a nested KVM whose ring-0 code is emulated takes minutes; elsewhere seconds. */
const BOOT_TIMEOUT_MS = Number(process.env.TSVMM_LINUX_TIMEOUT_MS ?? 600_000);

let missing: string | undefined;
before(() => {
  missing = ensureLinuxGuest();
});

const hex = (n: number) => `0x${n.toString(16).padStart(16, "0")}`;
const E820_NAMES: Record<number, string> = { [E820_RAM]: "usable", [E820_ACPI]: "ACPI data" };

/** The lines Linux prints for the memory map tsvmm gave it (arch/x86/kernel/e820.c, e820__print_table). */
function expectedE820Lines(map: readonly E820Entry[]): string[] {
  return map.map(
    (e) => `BIOS-e820: [mem ${hex(e.addr)}-${hex(e.addr + e.size - 1)}] ${E820_NAMES[e.type] ?? "reserved"}`,
  );
}

for (const accel of accelerators()) {
  for (const [kind, image] of Object.entries(LINUX_IMAGES)) {
    for (const cpus of [1, 2]) {
      test(`Debian's kernel boots from its ${kind === "pvh" ? "vmlinux (PVH)" : "bzImage"} with ${cpus} vCPU(s) to /init, which powers off [${accel}]`, async (t) => {
        if (missing) assert.fail(missing);
        const slow = accel === "kvm" ? kvmLinuxSkipReason() : undefined;
        if (slow) {
          t.skip(slow);
          return;
        }
        const { args, cmdline } = linuxArgs(accel, image, cpus, []);
        const r = await runLinux(args, BOOT_TIMEOUT_MS);
        t.diagnostic(
          `${accel} ${kind} ${cpus} vCPU: marker ${r.toMarkerMs?.toFixed(0) ?? "-"} ms, exit ${r.toExitMs.toFixed(0)} ms`,
        );
        // What the loader gave the kernel shows in its first lines, wherever it stops later.
        if (r.output.includes("BIOS-e820")) {
          for (const line of expectedE820Lines(memoryMap([{ gpa: 0, size: LINUX_MEMORY_MIB << 20 }]))) {
            assert.ok(r.output.includes(line), `missing "${line}" in:\n${r.output.slice(0, 3000)}`);
          }
          assert.ok(r.output.includes(`Command line: ${cmdline}`), r.output.slice(0, 3000));
        }
        assert.ok(r.output.includes(INIT_OK), `no ${INIT_OK}:\n${r.stderr}\n${r.output.slice(-4000)}`);
        assert.doesNotMatch(r.output, /TSVMM-INIT-FAIL/);
        assert.match(r.output, new RegExp(`TSVMM-CPUS: ${cpus}\\r?\\n`));
        // /proc/iomem lists the RAM above 1 MiB that the e820 map gave.
        assert.match(r.output, /00100000-0fffffff : System RAM/);
        assert.match(r.output, /TSVMM-FILES: .*\/etc\/tsvmm-initrd/);
        assert.match(r.output, /reboot: Power down/);
        assert.equal(r.stderr, "");
        assert.equal(r.status, 0);
      });
    }
  }
}
