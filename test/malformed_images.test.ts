// A corpus of malformed kernels: each gets one line naming the file and the problem, and exit status 2, on
// any host (images are checked before an accelerator opens).
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { accelerators } from "./helpers/kvm.js";
import { makeElf, multibootHeader } from "./helpers/make_elf.js";
import { runCli } from "./helpers/run.js";

const dir = mkdtempSync(join(tmpdir(), "tsvmm-bad-"));
const HLT = Uint8Array.of(0xf4);
const MiB = 0x100000;

function withMultiboot(elf: Uint8Array, checksumDelta = 0): Uint8Array {
  // Put the header in the first segment's bytes, which start right after the program headers.
  const out = elf.slice();
  out.set(multibootHeader(0x3, checksumDelta), 52 + 32);
  return out;
}

// mov $7, %al; out %al, $0xf4 (isa-debug-exit: status 15), padded to leave room for a Multiboot header.
const EXIT_7 = [0xb0, 0x07, 0xe6, 0xf4];
const valid = makeElf(32, MiB + 16, [{ paddr: MiB, data: Uint8Array.from([...new Array(16).fill(0x90), ...EXIT_7]) }]);
const phoffOutside = valid.slice();
new DataView(phoffOutside.buffer).setUint32(28, 0x10000, true);
const segmentBeyondFile = valid.slice();
new DataView(segmentBeyondFile.buffer).setUint32(52 + 16, 0x100000, true); // p_filesz
new DataView(segmentBeyondFile.buffer).setUint32(52 + 20, 0x100000, true); // p_memsz

const corpus: [name: string, bytes: Uint8Array, problem: RegExp][] = [
  ["empty.elf", new Uint8Array(0), /empty\.elf: empty file/],
  ["truncated.elf", valid.subarray(0, 40), /truncated\.elf: truncated ELF header/],
  ["phdr-outside.elf", phoffOutside, /phdr-outside\.elf: program headers lie outside the file/],
  ["segment-outside-file.elf", segmentBeyondFile, /segment-outside-file\.elf: segment 0 lies outside the file/],
  [
    "segment-outside-ram.elf",
    makeElf(32, 0x40000000, [{ paddr: 0x40000000, data: HLT }]),
    /segment-outside-ram\.elf: 0x1 bytes at 0x40000000 do not fit in guest RAM/,
  ],
  [
    "overlapping.elf",
    makeElf(32, MiB, [
      { paddr: MiB, data: new Uint8Array(0x2000) },
      { paddr: MiB + 0x1000, data: HLT },
    ]),
    /overlapping\.elf: segments at 0x100000 and 0x101000 overlap/,
  ],
  [
    "over-page-tables.elf",
    makeElf(64, 0x9000, [{ paddr: 0x9000, data: HLT }]),
    /over-page-tables\.elf: 0x1 bytes at 0x9000 overlap the boot page tables/,
  ],
  ["bad-checksum.elf", withMultiboot(valid, 1), /bad-checksum\.elf: bad Multiboot header checksum/],
  ["not-a-kernel.bin", new Uint8Array(4096).fill(0x90), /not-a-kernel\.bin: not a kernel image tsvmm knows/],
  [
    "memsz-below-filesz.elf",
    makeElf(32, MiB, [{ paddr: MiB, data: new Uint8Array(16), memsz: 8 }]),
    /memsz-below-filesz\.elf: segment 0: file size exceeds memory size/,
  ],
];

for (const [name, bytes, problem] of corpus) {
  test(`malformed kernel: ${name}`, () => {
    const file = join(dir, name);
    writeFileSync(file, bytes);
    const r = runCli(["run", "--memory", "16M", "--kernel", file]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, "");
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] as string, /^tsvmm: /);
    assert.match(lines[0] as string, problem);
  });
}

for (const accel of accelerators()) {
  test(`the valid image the corpus is derived from boots [${accel}]`, () => {
    const file = join(dir, "valid.elf");
    writeFileSync(file, valid);
    const r = runCli(["run", "--accel", accel, "--memory", "16M", "--kernel", file]);
    assert.equal(r.stderr, "");
    assert.equal(r.status, (7 << 1) | 1);
  });
}
