import assert from "node:assert/strict";
import { test } from "node:test";
import { GuestMemory, GuestMemoryError } from "../src/memory/guest_memory.js";

test("guest memory reads and writes inside RAM, and throws GuestMemoryError outside it", () => {
  const mem = GuestMemory.create([
    { gpa: 0, size: 0x2000 },
    { gpa: 0x10000, size: 0x1000 },
  ]);
  try {
    mem.write(0x1ffe, Uint8Array.of(1, 2));
    assert.deepEqual([...mem.read(0x1ffe, 2)], [1, 2]);
    mem.writeU32(0x10ffc, 0xdeadbeef);
    assert.equal(mem.readU32(0x10ffc), 0xdeadbeef);
    mem.writeU64(0x10, 0x1122334455667788n);
    assert.equal(mem.readU64(0x10), 0x1122334455667788n);
    assert.equal(mem.readU16(0x10), 0x7788);

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
      assert.equal(mem.contains(gpa, len), false);
    }
    assert.throws(() => mem.writeU64(0x1ffc, 1n), GuestMemoryError);
    assert.throws(() => mem.readU32(0x10ffd), GuestMemoryError);
  } finally {
    mem.close();
  }
});
