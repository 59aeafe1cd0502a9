import assert from "node:assert/strict";
import { test } from "node:test";
import { direction, Interpolator, Predictor, step } from "../game.js";

test("step follows the arena's rules", () => {
  assert.deepEqual(step(100, 100, 1, 0), [105, 100]);
  assert.deepEqual(step(998, 0, 1, -1).map((v) => Math.round(v * 1000) / 1000), [1000, 0], "clamped to 0..1000");
  const [x, y] = step(0, 0, 1, 1); // scaled to length 1
  assert.ok(Math.abs(Math.hypot(x, y) - 5) < 1e-9);
  assert.deepEqual(step(7, 7, NaN, 1), [7, 7]);
});

test("direction reads WASD and the arrows", () => {
  assert.deepEqual(direction(new Set(["KeyD", "ArrowUp"])), [1, -1]);
  assert.deepEqual(direction(new Set(["KeyA", "ArrowRight"])), [0, 0]);
});

test("Predictor replays unacknowledged inputs on the server's position", () => {
  const p = new Predictor();
  p.reconcile(100, 100, 0);
  p.input(1, 1, 0);
  p.input(2, 1, 0);
  p.input(3, 0, 1);
  assert.deepEqual([p.x, p.y], [110, 105], "predicted at once");
  p.reconcile(105, 100, 1); // the server applied input 1
  assert.deepEqual([p.x, p.y], [110, 105], "a correct prediction: no correction");
  assert.deepEqual(p.display(16), { x: 110, y: 105 });
  p.reconcile(103, 100, 2); // the server disagrees by 2 units
  assert.deepEqual([p.x, p.y], [103, 105]);
  const d = p.display(0);
  assert.equal(d.x, 110, "the correction is not shown at once");
  const later = p.display(1000);
  assert.ok(Math.abs(later.x - 103) < 0.01, "and is absorbed within a second");
});

test("Interpolator shows remote positions delayMs in the past, between ticks", () => {
  const it = new Interpolator(50, 100);
  for (let tick = 1; tick <= 10; tick++) it.push(tick, 1000 + tick * 50, new Map([[7, { x: tick * 10, y: 0 }]]));
  // Now = the arrival of tick 10; render time = tick 8; halfway to 9 after 25 ms.
  assert.equal(it.sample(1500).get(7).x, 80);
  assert.equal(it.sample(1525).get(7).x, 85);
  assert.equal(it.sample(5000).get(7).x, 100, "holds the newest, no extrapolation");
  // A late frame does not move the clock backwards: positions stay monotonic.
  it.push(11, 1000 + 11 * 50 + 40, new Map([[7, { x: 110, y: 0 }]]));
  let prev = -1;
  for (let t = 1500; t <= 1700; t += 5) {
    const x = it.sample(t).get(7).x;
    assert.ok(x >= prev, `x ${x} at ${t} after ${prev}`);
    prev = x;
  }
});
