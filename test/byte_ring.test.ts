import assert from "node:assert/strict";
import { test } from "node:test";
import { EscapeFilter } from "../src/cli/escape.js";
import { ByteRing } from "../src/vmm/byte_ring.js";

test("a byte ring keeps order across its end and across the 32-bit wrap of its counters", () => {
  const ring = ByteRing.create(8);
  // Start both counters just below the wrap, as after 2^31 bytes of traffic.
  const index = new Int32Array(ring.buffer, 0, 2);
  index[0] = 0x7ffffffd;
  index[1] = 0x7ffffffd;
  let next = 0;
  let expected = 0;
  for (let round = 0; round < 10; round++) {
    const chunk = Uint8Array.from({ length: 5 }, () => next++ & 0xff);
    assert.equal(ring.tryPush(chunk), 5);
    assert.equal(ring.available, 5);
    for (const b of ring.take(3)) assert.equal(b, expected++ & 0xff);
    for (const b of ring.drain()) assert.equal(b, expected++ & 0xff);
  }
  assert.equal(expected, 50);
  assert.ok((index[0] as number) < 0, "the counters wrapped");
});

test("a full byte ring takes what fits and no more", () => {
  const ring = ByteRing.create(4);
  assert.equal(ring.tryPush(Uint8Array.of(1, 2, 3, 4, 5, 6)), 4);
  assert.equal(ring.tryPush(Uint8Array.of(7)), 0);
  assert.deepEqual([...ring.take(2)], [1, 2]);
  assert.equal(ring.tryPush(Uint8Array.of(7, 8, 9)), 2);
  assert.deepEqual([...ring.drain()], [3, 4, 7, 8]);
  assert.throws(() => ByteRing.create(6), RangeError);
});

test("Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A, across chunk boundaries", () => {
  const f = new EscapeFilter();
  assert.deepEqual(f.feed(Buffer.from("ab\x01")), { forward: Uint8Array.from(Buffer.from("ab")), quit: false });
  assert.deepEqual(f.feed(Buffer.from("\x01c")), { forward: Uint8Array.of(1, 0x63), quit: false });
  assert.deepEqual(
    f.feed(Buffer.from("\x01zd")),
    { forward: Uint8Array.of(0x64), quit: false },
    "unknown escape dropped",
  );
  assert.deepEqual(f.feed(Buffer.from("e\x01")), { forward: Uint8Array.of(0x65), quit: false });
  assert.deepEqual(f.feed(Buffer.from("xf")), { forward: Uint8Array.of(), quit: true });
});
