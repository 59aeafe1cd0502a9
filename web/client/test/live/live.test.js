// The JS client against a real tickroom server on loopback: run by
// web/server_test.go (TestJSClient), which starts the server and sets
// TICKROOM_URL; skipped without it. Needs a global WebSocket (Node ≥ 22,
// or Node 20 with --experimental-websocket).
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Client, ServerError } from "../../src/index.js";

const url = process.env.TICKROOM_URL;
const skip = !url ? "TICKROOM_URL not set (run by go test ./web/ -run TestJSClient)" : !globalThis.WebSocket ? "no global WebSocket" : false;

/** @type {Client[]} */
const clients = [];
after(() => clients.forEach((c) => c.close()));

/**
 * Waits until cond() is truthy, polling every 10 ms, at most ms.
 * @param {string} what
 * @param {() => unknown} cond
 * @param {number} [ms]
 */
async function waitFor(what, cond, ms = 5000) {
  for (let i = 0; i < ms / 10; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}

/** @param {string} name @param {object} [opts] */
async function connected(name, opts = {}) {
  const c = new Client({ url: /** @type {string} */ (url), name, reconnect: { window: 10000 }, ...opts });
  clients.push(c);
  await c.connect();
  return c;
}

/** The server's checksum of room at tick. */
async function serverChecksum(room, tick) {
  const r = await fetch(`${url}/test/replica?room=${encodeURIComponent(room)}&tick=${tick}`);
  assert.equal(r.status, 200);
  return r.json();
}

/** @param {Client} c */
const ownEntity = (c) => c.state?.entities.find((e) => e.kind === 0 && e.values[0] === c.playerId);

test("quick join through matchmaking, inputs move the avatar, the replica matches the server", { skip }, async () => {
  const c = await connected("Ada");
  assert.match(c.playerId, /^g_/);
  assert.equal(c.name, "Ada");
  const info = await c.quickJoin("arena");
  assert.equal(info.roomType, "arena");
  assert.equal(c.room, info.roomId);
  assert.equal(info.schema.maskWidth, 6);
  await waitFor("own avatar", () => ownEntity(c));
  const x0 = Number(ownEntity(c).values[2]);
  const dir = x0 > 500 ? -1 : 1;
  let last = 0;
  for (let i = 0; i < 10; i++) {
    last = c.sendInput([dir, 0]);
    await new Promise((r) => setTimeout(r, 50));
  }
  await waitFor("inputs applied", () => c.inputSeq >= last);
  const moved = (Number(ownEntity(c).values[2]) - x0) * dir;
  assert.ok(moved >= 40, `moved ${moved} units in 10 inputs, want ≥ 40 (speed 5 per tick)`);
  const st = c.state;
  const srv = await serverChecksum(c.room, st.tick);
  assert.ok(srv.found, `tick ${st.tick} still in the server's history`);
  assert.equal(st.checksum, srv.checksum);
  assert.equal(c.stats.desyncs, 0);
  assert.ok(c.stats.deltas > 0 && c.stats.snapshots >= 1);
  const rtt = await c.ping();
  assert.ok(rtt >= 0 && rtt < 5000);
  assert.equal(await c.leave(), "leave");
  assert.equal(c.room, "");
  assert.throws(() => c.sendInput([0, 0]), /not in a room/);
});

test("a killed connection resumes the same seat with event continuity and a matching replica", { skip }, async () => {
  const c = await connected("Bob");
  await c.quickJoin("arena");
  await waitFor("own avatar", () => ownEntity(c));
  const room = c.room;
  const entity = ownEntity(c).id;
  const states = [];
  c.on("state", (s) => states.push(s));
  /** @type {any} */
  let resumed = null;
  c.on("resumed", (r) => (resumed = r));
  const eventSeqBefore = c.lastEventSeq;
  c.kill(); // no close handshake wait: like a network failure
  // Inputs while offline are buffered, then sent after the resume.
  const seq = c.sendInput([0, 1]);
  await waitFor("resumed", () => resumed, 10000);
  assert.deepEqual(states.slice(0, 3), ["reconnecting", "resuming", "connected"]);
  assert.equal(resumed.room, room);
  assert.equal(resumed.recovered, true);
  assert.equal(resumed.attempts, 1, "the first retry is at once and succeeds");
  assert.equal(c.room, room, "same room");
  assert.equal(ownEntity(c)?.id, entity, "same avatar: same seat");
  assert.ok(c.lastEventSeq >= eventSeqBefore);
  assert.equal(c.stats.resumes, 1);
  assert.equal(c.stats.duplicateEvents, 0);
  await waitFor("the buffered input applied", () => c.inputSeq >= seq);
  const st = c.state;
  const srv = await serverChecksum(room, st.tick);
  assert.ok(srv.found);
  assert.equal(st.checksum, srv.checksum);
  assert.equal(c.stats.desyncs, 0);
});

test("a terminal close code (1003 after a text frame) is not reconnected", { skip }, async () => {
  const c = await connected("Cy");
  /** @type {any} */
  let lost = null;
  c.on("lost", (e) => (lost = e));
  c.ws.send("text frames are not allowed");
  await waitFor("lost", () => lost);
  assert.equal(lost.code, 1003);
  assert.equal(c.connectionState, "lost");
  assert.equal(c.stats.reconnectAttempts, 0);
});

test("a refused resume token loses the seat", { skip }, async () => {
  const c = await connected("Dee");
  await c.quickJoin("arena");
  /** @type {any} */
  let lost = null;
  c.on("lost", (e) => (lost = e));
  c.resumeToken = "forged";
  c.kill();
  await waitFor("lost", () => lost, 10000);
  assert.equal(lost.reason, "resume_rejected");
  assert.equal(c.room, "");
});

test("errors, direct messages, join by room id", { skip }, async () => {
  const a = await connected("Eve");
  const b = await connected("Fay");
  await assert.rejects(a.join("no-such-type"), (e) => e instanceof ServerError && e.code === "unknown_room_type");
  const info = await a.join("arena-players");
  await assert.rejects(b.join("arena", info.roomId), (e) => e instanceof ServerError && e.code === "room_not_found", "a room_id of another room_type");
  const joined = await b.join("", info.roomId);
  assert.equal(joined.roomId, info.roomId);
  await waitFor("both players in b's replica", () => b.state?.entities.filter((e) => e.kind === 0).length === 2);
  /** @type {any[]} */
  const got = [];
  b.on("message", (m) => got.push(m));
  a.sendMsg(b.playerId, { hi: [1, 2] });
  await waitFor("direct message", () => got.length === 1);
  assert.deepEqual(got[0], { from: a.playerId, payload: { hi: [1, 2] } });
  /** @type {any[]} */
  const errors = [];
  a.on("error", (e) => errors.push(e));
  a.sendMsg("nobody", 1);
  await waitFor("player_offline", () => errors.length === 1);
  assert.equal(errors[0].code, "player_offline");
});

test("a ticket queue seats two players in one room (matched push or polling)", { skip }, async () => {
  const a = await connected("Gus");
  const b = await connected("Hal");
  /** @type {any[]} */
  const pushed = [];
  a.on("matched", (m) => pushed.push(m));
  const opts = () => ({ pollInterval: 250, signal: AbortSignal.timeout(20000) });
  const [ia, ib] = await Promise.all([a.ticketJoin({ mode: "arena" }, opts()), b.ticketJoin({ mode: "arena" }, opts())]);
  assert.equal(ia.roomId, ib.roomId, "both in the matched room");
  assert.equal(ia.roomType, "arena");
  assert.ok(pushed.length <= 1);
  if (pushed.length === 1) assert.equal(pushed[0].roomId, ia.roomId);
  await waitFor("both avatars in a's replica", () => a.state?.entities.filter((e) => e.kind === 0).length === 2);
});
