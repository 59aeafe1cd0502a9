import assert from "node:assert/strict";
import { test } from "node:test";
import { applyDelta, checksum, Replica, Schema } from "../src/index.js";

// The arena schema of PROTOCOL §4.
const arena = new Schema([
  ["player", ["id", 3, "name", 3, "x", 1, "y", 1, "hp", 1, "score", 1]],
  ["pickup", ["x", 1, "y", 1, "value", 1]],
]);

const four = () =>
  applyDelta(arena, null, 1, [], [1, 0, "a", "A", 0, 0, 100, 0, 2, 0, "b", "B", 10, 10, 100, 0, 3, 1, 5, 5, 1, 4, 0, "d", "D", 20, 20, 100, 0]);

test("the empty state has the documented checksum", () => {
  assert.equal(checksum(arena, []), 2166136261);
});

test("the PROTOCOL §5.1 example delta", () => {
  const base = four();
  assert.equal(arena.maskWidth, 6);
  // Entities at base indexes 0, 1 and 3 moved; index 2 is the pickup.
  const st = applyDelta(arena, base, 2, [12, 5, -2, 8, 5, 76, -4, -3]);
  assert.deepEqual(st.get(1).values.slice(2, 4), [5, -2]);
  assert.deepEqual(st.get(2).values.slice(2, 4), [10, 15]);
  assert.deepEqual(st.get(4).values.slice(2, 4), [16, 17]);
  assert.equal(st.get(3), base.get(3), "an unchanged entity is shared, not copied");
  assert.deepEqual(base.get(1).values.slice(2, 4), [0, 0], "the base is not modified");
  assert.ok(Object.isFrozen(st.get(1)));
});

test("int deltas wrap modulo 2^64", () => {
  const s = new Schema([["n", ["v", 1]]]);
  const max = 9223372036854775807n;
  let st = applyDelta(s, null, 1, [], [1, 0, max]);
  assert.equal(st.get(1).values[0], max);
  st = applyDelta(s, st, 2, [1, 1n]);
  assert.equal(st.get(1).values[0], -9223372036854775808n);
  st = applyDelta(s, st, 3, [1, 9223372036854775808n + 10n]); // + (2^63 + 10) ≡ back to 10
  assert.equal(st.get(1).values[0], 10, "back in the safe range: a number again");
});

test("malformed deltas are desyncs, never a wrong state", () => {
  const base = four();
  const bad = {
    "empty mask": [0],
    "index beyond the base": [(4 << 6) | 4, 1],
    "mask beyond the kind's fields": [(2 << 6) | 8, 1], // the pickup has 3 fields
    "truncated values": [12, 5],
    "wrong type for a string field": [1, 5],
    "float for an int field": [4, 0.5],
  };
  for (const [name, changes] of Object.entries(bad)) {
    assert.throws(() => applyDelta(arena, base, 2, changes), { name: "DesyncError" }, name);
  }
  assert.throws(() => applyDelta(arena, base, 2, [], [], [2, 1]), { name: "DesyncError" }, "removed not ascending");
  assert.throws(() => applyDelta(arena, base, 2, [], [], [9]), { name: "DesyncError" }, "removed unknown id");
  assert.throws(() => applyDelta(arena, base, 2, [], [1, 1, 1, 1, 1], []), { name: "DesyncError" }, "created existing id");
  assert.throws(() => applyDelta(arena, base, 2, [], [9, 7, 1], []), { name: "DesyncError" }, "created unknown kind");
});

test("checksum hashes the UTF-8 byte length of strings", () => {
  const s = new Schema([["t", ["s", 3]]]);
  const a = applyDelta(s, null, 1, [], [1, 0, "é"]); // 2 bytes
  const b = applyDelta(s, null, 1, [], [1, 0, "e"]);
  assert.notEqual(a.checksum, b.checksum);
  // FNV-1a by hand over id 1, kind 0, len 2, 0xc3 0xa9.
  let h = 2166136261;
  for (const x of [1, 0, 0, 0, 0, 2, 0, 0, 0, 0xc3, 0xa9]) h = Math.imul(h ^ x, 16777619) >>> 0;
  assert.equal(a.checksum, h);
});

test("Replica keeps acknowledged bases until a newer-based delta, and skips nothing it may need", () => {
  const rep = new Replica(arena, 64);
  const base = four();
  const f = (tick, age, st) => ({ tick, age, checksum: st.checksum, changes: [], created: [], removed: [] });
  rep.apply({ ...f(1, 0, base), created: [1, 0, "a", "A", 0, 0, 100, 0, 2, 0, "b", "B", 10, 10, 100, 0, 3, 1, 5, 5, 1, 4, 0, "d", "D", 20, 20, 100, 0] });
  rep.apply({ ...f(2, 1, base) }); // nothing changed, base 1
  rep.apply({ ...f(3, 2, base) }); // a delta against tick 1: still held
  assert.deepEqual([...rep.states.keys()].sort(), [1, 2, 3]);
  rep.apply({ ...f(4, 1, base) }); // base 3: ticks 1 and 2 are never used again
  assert.deepEqual([...rep.states.keys()].sort(), [3, 4]);
  assert.throws(() => rep.apply({ ...f(5, 4, base) }), /base tick 1 is not held/);
  assert.equal(rep.waitFull, true);
});
