// Every entry mode, ELF and Multiboot kernels, and the QEMU test-machine devices, on real guests.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createMachine } from "../src/vmm/machine.js";
import { buildElf, buildFlat } from "./helpers/build_guest.js";
import { accelerators } from "./helpers/kvm.js";
import { runCli } from "./helpers/run.js";

const dir = mkdtempSync(join(tmpdir(), "tsvmm-kernels-"));
const HIGH = 0x100000;
const status = (code: number) => (code << 1) | 1;

for (const accel of accelerators()) {
  test(`--mode protected: flat 32-bit segments, paging off, exit code through isa-debug-exit [${accel}]`, () => {
    const r = runCli(["run", "--accel", accel, "--mode", "protected", buildFlat("mode_protected.S", HIGH)]);
    assert.equal(r.stdout, "protected: cr0.pe=1 cr0.pg=0 cs=0008 ds=0010 ss=0010 esp=00008ff0\n");
    assert.equal(r.status, status(0x11), r.stderr);
  });

  test(`--mode long: EFER.LMA, 64-bit code, 4 GiB identity map [${accel}]`, () => {
    const r = runCli(["run", "--accel", accel, "--mode", "long", buildFlat("mode_long.S", HIGH)]);
    assert.equal(
      r.stdout,
      "long: efer.lme=1 efer.lma=1 cr4.pae=1 cs=0018 cs.l=1 rsp=0000000000008ff0 pde(ffe00000)=00000000ffe00083 r8=0123456789abcdef\n",
    );
    assert.equal(r.status, status(0x13), r.stderr);
  });

  test(`--mode paged32: 32-bit paging (a KVM that refuses it says so in one clear line) [${accel}]`, (t) => {
    const r = runCli(["run", "--accel", accel, "--mode", "paged32", buildFlat("mode_paged32.S", HIGH)]);
    if (accel === "kvm" && r.status === 2) {
      // This project's former nested KVM refused CR0.PG outside long mode (see DESIGN.md); tsvmm must say so.
      // Nothing refuses it on the emulator: there it runs for real.
      assert.equal(r.stderr, "tsvmm: this host's KVM refused to enable paging in paged32 mode (CR0.PG was dropped)\n");
      t.diagnostic("paged32 is not available on this host's KVM");
    } else {
      assert.equal(r.stdout, "paged32: cr0.pg=1 cr4.pse=1 cr4.pae=0 cs=0008 pde(ffc00000)=ffc00083\n");
      assert.equal(r.status, status(0x12), r.stderr);
    }
  });

  test(`a Multiboot ELF kernel sees its command line, first module, module count and memory map [${accel}]`, () => {
    const kernel = buildElf("multiboot_kernel.S", "multiboot_kernel.ld", "elf32");
    const module0 = join(dir, "module.txt");
    writeFileSync(module0, "hello module\n");
    const module1 = join(dir, "m2.txt");
    writeFileSync(module1, "second");
    const r = runCli([
      "run",
      "--accel",
      accel,
      "--memory",
      "64M",
      "--kernel",
      kernel,
      "--append",
      "hello world",
      "--initrd",
      module0,
      "--module",
      `${module1},arg1 arg2`,
    ]);
    assert.equal(
      r.stdout,
      [
        `cmdline: ${kernel} hello world`,
        "mem: lower=639 upper=64512",
        "module0: hello module",
        "mods: 2",
        // The machine's one memory map (memory_map.ts), as the zero page and PVH get it too.
        "mmap: base=0000000000000000 len=000000000009fc00 type=1",
        "mmap: base=000000000009fc00 len=0000000000040400 type=2",
        "mmap: base=00000000000e0000 len=0000000000010000 type=3",
        "mmap: base=00000000000f0000 len=0000000000010000 type=2",
        "mmap: base=0000000000100000 len=0000000003f00000 type=1",
        "mmap: base=00000000fec00000 len=0000000000001000 type=2",
        "mmap: base=00000000fee00000 len=0000000000001000 type=2",
        "mmap: base=00000000fffbc000 len=0000000000044000 type=2",
        "",
      ].join("\n"),
    );
    assert.equal(r.status, status(0x21), r.stderr);
  });

  test(`a Multiboot kernel without modules says so [${accel}]`, () => {
    const kernel = buildElf("multiboot_kernel.S", "multiboot_kernel.ld", "elf32");
    const r = runCli(["run", "--accel", accel, "--kernel", kernel]);
    // QEMU's "%s %s" of the file name and an empty -append: the line ends with a space.
    assert.match(r.stdout, new RegExp(`^cmdline: ${kernel} \nmem: lower=639 upper=130048\nmodules: none\nmods: 0\n`));
    assert.equal(r.status, status(0x21), r.stderr);
  });

  test(`--initrd a,b for a Multiboot kernel is two modules, as QEMU's -initrd [${accel}]`, () => {
    const kernel = buildElf("multiboot_kernel.S", "multiboot_kernel.ld", "elf32");
    const module0 = join(dir, "first.txt");
    writeFileSync(module0, "first module\n");
    const module1 = join(dir, "second.txt");
    writeFileSync(module1, "second");
    const r = runCli(["run", "--accel", accel, "--kernel", kernel, "--initrd", `${module0} a b,${module1}`]);
    assert.match(
      r.stdout,
      new RegExp(`^cmdline: ${kernel} \nmem: lower=639 upper=130048\nmodule0: first module\nmods: 2\n`),
    );
    assert.equal(r.status, status(0x21), r.stderr);
  });

  test(`a Multiboot kernel loaded by its a.out-kludge address fields, bss zeroed [${accel}]`, () => {
    const r = runCli(["run", "--accel", accel, "--kernel", buildFlat("multiboot_aout.S", HIGH)]);
    assert.equal(r.stdout, "aout: ok\n");
    assert.equal(r.status, status(0x22), r.stderr);
  });

  test(`an ELF64 kernel is entered in long mode, both segments loaded [${accel}]`, () => {
    const r = runCli(["run", "--accel", accel, "--kernel", buildElf("elf64_kernel.S", "elf64_kernel.ld", "elf64")]);
    assert.equal(r.stdout, "elf64: long mode\n");
    assert.equal(r.status, status(0x23), r.stderr);
  });

  test(`fw_cfg reports the signature, CPU count and RAM size [${accel}]`, () => {
    const r = runCli([
      "run",
      "--accel",
      accel,
      "--mode",
      "protected",
      "--memory",
      "96M",
      buildFlat("fw_cfg_read.S", HIGH),
    ]);
    assert.equal(r.stdout, "fw_cfg: sig=QEMU cpus=1 ram=0000000006000000\n");
    assert.equal(r.status, status(0x24), r.stderr);
  });

  test(`a triple fault ends with the shutdown report and a non-zero status [${accel}]`, () => {
    const r = runCli(["run", "--accel", accel, "--mode", "protected", buildFlat("triple_fault.S", HIGH)]);
    assert.equal(r.stdout, "");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^tsvmm: guest triple-faulted \(shutdown\)\n/);
    assert.match(r.stderr, /mode protected {2}cr0=00000011 /);
    assert.match(r.stderr, /idt base=0000000000000000 limit=0000/);
    assert.match(r.stderr, /at 0008:100007 {2}gpa 0x100007: 0f 0b {2}ud2/);
  });

  test(`the library API boots a kernel and reads its console [${accel}]`, async () => {
    const { readFileSync } = await import("node:fs");
    const file = buildElf("multiboot_kernel.S", "multiboot_kernel.ld", "elf32");
    const chunks: Uint8Array[] = [];
    const machine = createMachine({
      accel,
      memorySize: 32 << 20,
      image: { kind: "kernel", name: "k.elf", data: readFileSync(file), cmdline: "api" },
      console: (b) => chunks.push(b),
    });
    try {
      assert.equal(machine.accel, accel);
      assert.equal(machine.boot.format, "multiboot");
      assert.equal(machine.boot.mode, "protected");
      const r = await machine.run();
      assert.deepEqual(r.reason, { kind: "exit", code: 0x21 });
      assert.equal(r.status, status(0x21));
      assert.equal(r.accel, accel);
      assert.match(Buffer.concat(chunks).toString(), /^cmdline: k\.elf api\nmem: lower=639 upper=31744\n/);
    } finally {
      await machine.close();
    }
  });

  test(`a .S file given to tsvmm run is assembled and run [${accel}]`, () => {
    const src = join(dir, "hello.S");
    writeFileSync(src, ".code32\nmov $0x3f8, %dx\nmov $'K', %al\nout %al, (%dx)\nmov $5, %eax\nout %eax, $0xf4\n");
    const r = runCli(["run", "--accel", accel, "--mode", "protected", src]);
    assert.equal(r.stdout, "K");
    assert.equal(r.status, status(5), r.stderr);
  });
}
