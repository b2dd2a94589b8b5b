// Linux images without a kernel: a corpus of bzImages with one setup header field broken each, every one a
// single line and exit status 2 on any host (images are checked before an accelerator opens); and the
// tiny valid bzImage and PVH ELF they come from, which boot on every accelerator and check in the guest
// what the loader gave them (the zero page's type_of_loader through RSI; the start info's magic in EBX).
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { accelerators } from "./helpers/kvm.js";
import {
  BZ_EXPECTED_STATUS,
  edited,
  HDR,
  makeBzImage,
  makePvhElf,
  PVH_EXPECTED_STATUS,
} from "./helpers/make_linux_image.js";
import { runCli } from "./helpers/run.js";

const dir = mkdtempSync(join(tmpdir(), "tsvmm-bz-"));
const valid = makeBzImage();

const corpus: [name: string, bytes: Uint8Array, problem: RegExp, args?: string[]][] = [
  ["truncated.bz", valid.subarray(0, 0x208), /truncated\.bz: truncated bzImage \(520 bytes\)/],
  [
    "boot-flag.bz",
    edited(valid, (dv) => dv.setUint16(HDR.bootFlag, 0x1234, true)),
    /boot-flag\.bz: bzImage boot_flag is 0x1234, not 0xaa55/,
  ],
  [
    "no-hdrs.bz",
    edited(valid, (_, b) => b.set(Buffer.from("HdrX", "latin1"), HDR.header)),
    /no-hdrs\.bz: not a Linux bzImage: no "HdrS" signature at 0x202/,
  ],
  [
    "old-protocol.bz",
    edited(valid, (dv) => dv.setUint16(HDR.version, 0x0209, true)),
    /old-protocol\.bz: boot protocol 2\.09 is older than 2\.12, the first with the 64-bit entry/,
  ],
  [
    "short-header.bz",
    edited(valid, (_, b) => {
      b[HDR.jump + 1] = 0x20;
    }),
    /short-header\.bz: bzImage setup header length 0x31 is out of range/,
  ],
  [
    "no-64bit-entry.bz",
    edited(valid, (dv) => dv.setUint16(HDR.xloadflags, 0, true)),
    /no-64bit-entry\.bz: bzImage has no 64-bit entry point \(XLF_KERNEL_64 is clear in xloadflags\)/,
  ],
  [
    "not-loaded-high.bz",
    edited(valid, (_, b) => {
      b[HDR.loadflags] = 0;
    }),
    /not-loaded-high\.bz: bzImage does not load high \(LOADED_HIGH is clear in loadflags\)/,
  ],
  [
    "setup-sects.bz",
    edited(valid, (_, b) => {
      b[HDR.setupSects] = 200;
    }),
    /setup-sects\.bz: bzImage setup_sects 200 reaches past the end of the file/,
  ],
  [
    "syssize.bz",
    edited(valid, (dv) => dv.setUint32(HDR.syssize, 0x10000, true)),
    /syssize\.bz: bzImage syssize 0x100000 bytes does not fit in the file/,
  ],
  [
    "alignment.bz",
    edited(valid, (dv) => dv.setUint32(HDR.kernelAlignment, 0x3000, true)),
    /alignment\.bz: bzImage kernel_alignment 0x3000 is not a power of two/,
  ],
  [
    "init-size-small.bz",
    edited(valid, (dv) => dv.setUint32(HDR.initSize, 0x100, true)),
    /init-size-small\.bz: bzImage init_size 0x100 is smaller than the kernel \(0x400\)/,
  ],
  [
    "init-size-huge.bz",
    edited(valid, (dv) => dv.setUint32(HDR.initSize, 0x40000000, true)),
    /init-size-huge\.bz: the kernel needs 0x40000000 bytes \(init_size\) from 0x100000: more than guest RAM has/,
  ],
  [
    "cmdline-size.bz",
    edited(valid, (dv) => dv.setUint32(HDR.cmdlineSize, 4, true)),
    /cmdline-size\.bz: the command line \(11 bytes\) is longer than 4/,
    ["--append", "console=tty"],
  ],
  [
    "boot-sector.bin",
    edited(new Uint8Array(1024), (dv) => dv.setUint16(HDR.bootFlag, 0xaa55, true)),
    /boot-sector\.bin: not a Linux bzImage: no "HdrS" signature at 0x202/,
  ],
];

for (const [name, bytes, problem, args] of corpus) {
  test(`malformed bzImage: ${name}`, () => {
    const file = join(dir, name);
    writeFileSync(file, bytes);
    const r = runCli(["run", "--memory", "32M", "--kernel", file, ...(args ?? [])]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, "");
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] as string, /^tsvmm: /);
    assert.match(lines[0] as string, problem);
  });
}

test("a Linux kernel takes one initrd and no module", () => {
  const file = join(dir, "two-modules.bz");
  writeFileSync(file, valid);
  const r = runCli(["run", "--memory", "32M", "--kernel", file, "--initrd", file, "--module", file]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^tsvmm: .*two-modules\.bz: a Linux kernel takes one --initrd and no --module\n$/);
});

for (const accel of accelerators()) {
  test(`the tiny bzImage boots through the 64-bit protocol and finds type_of_loader 0xff via RSI [${accel}]`, () => {
    const file = join(dir, "valid.bz");
    writeFileSync(file, valid);
    // 32 MiB: pref_address (16 MiB) + init_size fits; 16 MiB makes the loader pick the aligned 2 MiB instead.
    for (const memory of ["32M", "16M"]) {
      const r = runCli(["run", "--accel", accel, "--memory", memory, "--kernel", file, "--initrd", file]);
      assert.equal(r.stderr, "");
      assert.equal(r.status, BZ_EXPECTED_STATUS);
    }
  });

  test(`the tiny PVH ELF enters in 32-bit mode with EBX at the hvm_start_info magic [${accel}]`, () => {
    const file = join(dir, "pvh.elf");
    writeFileSync(file, makePvhElf());
    const r = runCli(["run", "--accel", accel, "--memory", "16M", "--kernel", file, "--initrd", file]);
    assert.equal(r.stderr, "");
    assert.equal(r.status, PVH_EXPECTED_STATUS);
  });
}
