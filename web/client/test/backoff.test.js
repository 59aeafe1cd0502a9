import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay, isTerminalClose } from "../src/index.js";

test("backoffDelay: first retry at once, then full jitter up to min(cap, base·2^(n-1))", () => {
  const top = () => 1 - Number.EPSILON; // the largest random() value
  const bottom = () => 0;
  assert.equal(backoffDelay(1, { random: top }), 0);
  const want = [0, 200, 400, 800, 1600, 2000, 2000]; // attempts 1..7, base 100, cap 2000
  want.forEach((w, i) => {
    assert.equal(backoffDelay(i + 1, { random: top }), w, `attempt ${i + 1}`);
    assert.equal(backoffDelay(i + 1, { random: bottom }), 0, `attempt ${i + 1} lower bound`);
  });
  assert.equal(backoffDelay(1000, { random: top }), 2000, "no overflow for a large attempt");
  assert.equal(backoffDelay(3, { base: 50, cap: 150, random: top }), 150);
  assert.equal(backoffDelay(2, { random: () => 0.5 }), 100);
});

test("isTerminalClose follows PROTOCOL §7", () => {
  for (const c of [1000, 1002, 1003, 1007, 1008, 1009, 1010, 4500, 4502, 4509, 4999]) assert.ok(isTerminalClose(c), `${c} terminal`);
  for (const c of [1001, 1005, 1006, 1011, 1012, 1013, 1015, 4000, 4001, 4008, 4499]) assert.ok(!isTerminalClose(c), `${c} reconnects`);
});
