import assert from "node:assert/strict";
import { test } from "node:test";
import { createKvmMemory, kvmMemoryFromHandles } from "../src/accel/kvm/memory.js";
import { GuestMemory, GuestMemoryError } from "../src/memory/guest_memory.js";

const LAYOUT = [
  { gpa: 0, size: 0x2000 },
  { gpa: 0x10000, size: 0x1000 },
];

// Both backings: SharedArrayBuffers (the emulator's) and anonymous mappings (KVM's; mmap needs no /dev/kvm).
const BACKINGS: [string, () => GuestMemory, (m: GuestMemory) => GuestMemory][] = [
  ["shared", () => GuestMemory.createShared(LAYOUT), (m) => GuestMemory.fromHandles(m.handles)],
  ["mmap", () => createKvmMemory(LAYOUT), (m) => kvmMemoryFromHandles(m.handles)],
];

for (const [backing, create, view] of BACKINGS) {
  test(`guest memory reads and writes inside RAM, and throws GuestMemoryError outside it [${backing}]`, () => {
    const mem = create();
    try {
      mem.write(0x1ffe, Uint8Array.of(1, 2));
      assert.deepEqual([...mem.read(0x1ffe, 2)], [1, 2]);
      mem.writeU32(0x10ffc, 0xdeadbeef);
      assert.equal(mem.readU32(0x10ffc), 0xdeadbeef);
      mem.writeU64(0x10, 0x1122334455667788n);
      assert.equal(mem.readU64(0x10), 0x1122334455667788n);
      assert.equal(mem.readU16(0x10), 0x7788);
      mem.fill(0x12, 2, 0xaa);
      assert.equal(mem.readU32(0x10), 0xaaaa7788);

      const outside: [number, number][] = [
        [0x2000, 1], // just past the first region
        [0x1fff, 2], // straddles its end
        [0x3000, 4], // in the hole between regions
        [0xfffe, 4], // straddles the start of the second
        [0x11000, 1], // past the end of RAM
        [-1, 1],
        [0, -1],
        [2 ** 60, 1],
        [0.5, 1],
      ];
      for (const [gpa, len] of outside) {
        assert.throws(() => mem.read(gpa, len), GuestMemoryError, `read 0x${gpa.toString(16)}+${len}`);
        if (len > 0) assert.throws(() => mem.write(gpa, new Uint8Array(len)), GuestMemoryError);
        if (len > 0) assert.throws(() => mem.fill(gpa, len), GuestMemoryError);
        assert.equal(mem.contains(gpa, len), false);
      }
      assert.throws(() => mem.writeU64(0x1ffc, 1n), GuestMemoryError);
      assert.throws(() => mem.readU32(0x10ffd), GuestMemoryError);
    } finally {
      mem.close();
    }
  });

  test(`another view from the handles sees the same bytes, and closing it frees nothing [${backing}]`, () => {
    const mem = create();
    try {
      const other = view(mem);
      other.writeU32(0x10000, 0x12345678);
      assert.equal(mem.readU32(0x10000), 0x12345678);
      other.close();
      mem.writeU8(0x1000, 7);
      assert.equal(other.readU8(0x1000), 7);
    } finally {
      mem.close();
    }
  });
}

test("writeObserver hears every write through the object, with its range, after the bytes changed", () => {
  const mem = GuestMemory.createShared(LAYOUT);
  const seen: string[] = [];
  mem.writeObserver = (gpa, length) => seen.push(`0x${gpa.toString(16)}+${length}=${mem.readU8(gpa)}`);
  mem.write(0x100, Uint8Array.of(9, 9, 9));
  mem.writeU8(0x200, 1);
  mem.writeU16(0x300, 2);
  mem.writeU32(0x400, 3);
  mem.writeU64(0x500, 4n);
  mem.fill(0x600, 16, 5);
  mem.read(0x100, 3);
  mem.readU32(0x400);
  assert.deepEqual(seen, ["0x100+3=9", "0x200+1=1", "0x300+2=2", "0x400+4=3", "0x500+8=4", "0x600+16=5"]);
  assert.throws(() => mem.writeU32(0x1ffe, 0), GuestMemoryError);
  assert.equal(seen.length, 6, "a refused write is not reported");
});

test("regions must be page aligned and not empty", () => {
  for (const layout of [[{ gpa: 0, size: 0x1800 }], [{ gpa: 0x800, size: 0x1000 }], [{ gpa: 0, size: 0 }]]) {
    assert.throws(() => GuestMemory.createShared(layout), RangeError);
  }
});
