// The arena's rules as a predicting client needs them (games/arena, and
// docs/PROTOCOL.md's arena notes), local prediction with reconciliation,
// and interpolation of the other players. No DOM here: node --test runs it.

/** Arena geometry and rules (games/arena/arena.go). */
export const Size = 1000;
export const Speed = 5;
export const PickupRadius = 20;

/**
 * One tick of a player's movement under direction (dx, dy): a vector
 * longer than 1 is scaled to 1, NaN or infinite input is ignored (the
 * previous direction stays), the position is clamped to 0..Size.
 * @param {number} x @param {number} y @param {number} dx @param {number} dy
 * @returns {[number, number]}
 */
export function step(x, y, dx, dy) {
  if (!Number.isFinite(dx) || !Number.isFinite(dy)) return [x, y];
  const l = Math.hypot(dx, dy);
  if (l > 1) {
    dx /= l;
    dy /= l;
  }
  return [Math.min(Math.max(x + dx * Speed, 0), Size), Math.min(Math.max(y + dy * Speed, 0), Size)];
}

/**
 * The direction of the held keys: WASD and the arrow keys.
 * @param {Set<string>} keys KeyboardEvent.code values held down
 * @returns {[number, number]}
 */
export function direction(keys) {
  const dx = (keys.has("KeyD") || keys.has("ArrowRight") ? 1 : 0) - (keys.has("KeyA") || keys.has("ArrowLeft") ? 1 : 0);
  const dy = (keys.has("KeyS") || keys.has("ArrowDown") ? 1 : 0) - (keys.has("KeyW") || keys.has("ArrowUp") ? 1 : 0);
  return [dx, dy];
}

/**
 * Client-side prediction of the own avatar. The client sends one input per
 * tick; the server applies each at a tick and reports the last one applied
 * (input_seq) in every frame. The predicted position is the server's
 * position replayed with every input after input_seq. A correction (the
 * prediction was off, e.g. rounding or a late input) is not shown as a
 * jump: it is spread over the next frames.
 */
export class Predictor {
  constructor() {
    /** @type {{seq: number, dx: number, dy: number}[]} */
    this.pending = [];
    this.x = NaN;
    this.y = NaN;
    /** The visible offset still to be absorbed. */
    this.errX = 0;
    this.errY = 0;
  }

  /** Forget everything (a new seat, or after the connection came back). */
  reset() {
    this.pending = [];
    this.x = this.y = NaN;
    this.errX = this.errY = 0;
  }

  /**
   * An input was sent: predict its tick of movement at once.
   * @param {number} seq @param {number} dx @param {number} dy
   */
  input(seq, dx, dy) {
    this.pending.push({ seq, dx, dy });
    if (this.pending.length > 64) this.pending.shift();
    if (!Number.isNaN(this.x)) [this.x, this.y] = step(this.x, this.y, dx, dy);
  }

  /**
   * A frame arrived with the server's position of the avatar and
   * input_seq: drop the applied inputs, replay the rest on top.
   * @param {number} sx @param {number} sy @param {number} inputSeq
   */
  reconcile(sx, sy, inputSeq) {
    this.pending = this.pending.filter((p) => p.seq > inputSeq);
    let x = sx;
    let y = sy;
    for (const p of this.pending) [x, y] = step(x, y, p.dx, p.dy);
    if (!Number.isNaN(this.x)) {
      this.errX += this.x - x;
      this.errY += this.y - y;
      if (Math.hypot(this.errX, this.errY) > 100) this.errX = this.errY = 0; // teleport: snap
    }
    this.x = x;
    this.y = y;
  }

  /**
   * The position to draw, dtMs after the previous call: the prediction
   * plus what is left of past corrections (decaying with a ~60 ms time
   * constant).
   * @param {number} dtMs
   * @returns {{x: number, y: number}}
   */
  display(dtMs) {
    const k = Math.exp(-dtMs / 60);
    this.errX *= k;
    this.errY *= k;
    return { x: this.x + this.errX, y: this.y + this.errY };
  }
}

/**
 * Interpolation of remote entities: positions are shown `delayMs` in the
 * past, between the two received ticks around that moment, so they move
 * smoothly at any frame rate although states arrive at the tick rate with
 * network jitter. The server's tick clock is estimated from arrival times.
 */
export class Interpolator {
  /** @param {number} tickMs @param {number} [delayMs] */
  constructor(tickMs, delayMs = 100) {
    this.tickMs = tickMs;
    this.delayMs = delayMs;
    /** @type {{tick: number, pos: Map<number, {x: number, y: number}>}[]} */
    this.buf = [];
    this.offset = NaN; // local ms at server tick 0
  }

  /**
   * A state arrived.
   * @param {number} tick
   * @param {number} nowMs local arrival time
   * @param {Map<number, {x: number, y: number}>} pos
   */
  push(tick, nowMs, pos) {
    const last = this.buf[this.buf.length - 1];
    if (last && tick <= last.tick) {
      if (tick < last.tick) this.buf = []; // a new room, or time went back
      else return;
    }
    this.buf.push({ tick, pos });
    if (this.buf.length > 64) this.buf.shift();
    const sample = nowMs - tick * this.tickMs;
    // Follow the earliest arrivals at once (the least delayed frames tell
    // the clock best) and drift slowly towards later ones.
    if (Number.isNaN(this.offset) || sample < this.offset || sample - this.offset > 1000) this.offset = sample;
    else this.offset += (sample - this.offset) * 0.02;
  }

  /**
   * The positions to draw at local time nowMs.
   * @param {number} nowMs
   * @returns {Map<number, {x: number, y: number}>}
   */
  sample(nowMs) {
    const n = this.buf.length;
    if (n === 0) return new Map();
    const rt = (nowMs - this.offset - this.delayMs) / this.tickMs; // render time, in ticks
    if (rt >= this.buf[n - 1].tick) return this.buf[n - 1].pos;
    if (rt <= this.buf[0].tick) return this.buf[0].pos;
    let i = n - 2;
    while (i > 0 && this.buf[i].tick > rt) i--;
    const a = this.buf[i];
    const b = this.buf[i + 1];
    const t = (rt - a.tick) / (b.tick - a.tick);
    /** @type {Map<number, {x: number, y: number}>} */
    const out = new Map();
    for (const [id, pb] of b.pos) {
      const pa = a.pos.get(id);
      out.set(id, pa ? { x: pa.x + (pb.x - pa.x) * t, y: pa.y + (pb.y - pa.y) * t } : pb);
    }
    return out;
  }
}
