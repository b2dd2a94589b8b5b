// The guest tsvmm grew from (LWN's "Using the KVM API"): with AL=2 and BL=2 it prints "4\n" on port 0x3f8
// and halts. Its source is guests/seed.S; a test checks that GNU as turns it into exactly these bytes.
const LISTING: [bytes: number[], source: string][] = [
  [[0xba, 0xf8, 0x03], "mov $0x3f8, %dx"],
  [[0x00, 0xd8], "add %bl, %al"],
  [[0x04, 0x30], "add $'0', %al"],
  [[0xee], "out %al, (%dx)"],
  [[0xb0, 0x0a], "mov $'\\n', %al"],
  [[0xee], "out %al, (%dx)"],
  [[0xf4], "hlt"],
];

export const SEED_CODE = Uint8Array.from(LISTING.flatMap(([bytes]) => bytes));
export const SEED_REGS = { rax: 2n, rbx: 2n };
