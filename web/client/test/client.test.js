// The client's session logic message by message: acks, inputs, desync
// recovery, reconnect and resume, close codes. A scripted in-memory socket
// plays the server here so that every message can be checked in order;
// test/live/ runs the same client against a real server.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { decode, encode } from "@msgpack/msgpack";
import { applyDelta, Client, Schema } from "../src/index.js";

/** A WebSocket whose far end is the test. */
class ScriptedSocket {
  /** @type {ScriptedSocket[]} */
  static all = [];
  /** @param {string} url @param {string[]} [protocols] */
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    /** @type {unknown[]} */
    this.sent = [];
    this.closedWith = 0;
    ScriptedSocket.all.push(this);
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }
  /** @param {Uint8Array} b */
  send(b) {
    this.sent.push(decode(b));
  }
  /** @param {number} code */
  close(code) {
    this.readyState = 3;
    this.closedWith = code;
  }
  /** The server sends msg. @param {unknown[]} msg */
  recv(msg) {
    const b = encode(msg);
    this.onmessage?.({ data: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) });
  }
  /** The connection ends with code. @param {number} code */
  end(code) {
    this.readyState = 3;
    this.onclose?.({ code, reason: "" });
  }
  /** The messages sent of a type. @param {number} type */
  of(type) {
    return this.sent.filter((m) => Array.isArray(m) && m[0] === type);
  }
}

const rawSchema = [
  ["player", ["id", 3, "name", 3, "x", 1, "y", 1, "hp", 1, "score", 1]],
  ["pickup", ["x", 1, "y", 1, "value", 1]],
];
const schema = new Schema(rawSchema);
const created1 = [1, 0, "p1", "Ada", 100, 100, 100, 0];
const s1 = applyDelta(schema, null, 1, [], created1);
/** State of tick t: Ada moved right by 5 per tick since tick 1. */
const at = (t) => applyDelta(schema, s1, t, [4, 5 * (t - 1)]);

/** A frame message: [103, tick, age, input_seq, checksum, changes, created, removed, events]. */
function frame(tick, age, inputSeq, changes, created = [], events = [], sum) {
  const base = age ? at(tick - age) : null;
  const st = applyDelta(schema, base, tick, changes, created);
  return [103, tick, age, inputSeq, sum ?? st.checksum, changes, created, [], events];
}
const full = (tick, inputSeq = 0, events = []) => {
  const st = at(tick);
  return frame(tick, 0, inputSeq, [], [1, 0, "p1", "Ada", st.get(1).values[2], 100, 100, 0], events);
};
const delta = (tick, base, inputSeq = 0, events = []) => frame(tick, tick - base, inputSeq, [4, 5 * (tick - base)], [], events);

const tick = () => new Promise((r) => setTimeout(r, 5));
/** Waits (at most 2 s) until socket i exists and is open; returns it. */
async function opened(i) {
  for (let n = 0; n < 400 && ScriptedSocket.all[i]?.readyState !== 1; n++) await tick();
  assert.equal(ScriptedSocket.all[i]?.readyState, 1, `socket ${i} open`);
  return ScriptedSocket.all[i];
}
const token = `x.${Buffer.from(JSON.stringify({ sub: "p1", exp: 4102444800 })).toString("base64url")}.y`;

/** @type {Client[]} */
let clients = [];
afterEach(() => {
  clients.forEach((c) => c.close());
  clients = [];
  ScriptedSocket.all = [];
});

/** A client seated in room r1 at tick 1 (with events), and its socket. */
async function seated(opts = {}, events = []) {
  const c = new Client({ url: "http://game.test", token, WebSocket: /** @type {any} */ (ScriptedSocket), reconnect: { random: () => 0.5 }, pingInterval: 1e9, ...opts });
  clients.push(c);
  const conn = c.connect();
  const ws = await opened(0);
  assert.equal(ws.url, "ws://game.test/ws");
  assert.deepEqual(ws.protocols, ["tickroom.v1", `bearer.${token}`], "the token travels as a subprotocol");
  ws.recv([101, "p1", "Ada", 1]);
  assert.deepEqual(await conn, { playerId: "p1", name: "Ada" });
  const join = c.join("arena");
  assert.deepEqual(ws.sent.at(-1), [1, "arena"]);
  ws.recv([102, "r1", "arena", 20, rawSchema, 64, "tok-A"]);
  ws.recv(full(1, 0, events));
  const info = await join;
  assert.equal(info.roomId, "r1");
  assert.equal(info.tick, 1);
  return { c, ws };
}

test("acks ride on inputs when inputs flow, else go alone; ticks and input_seq are tracked", async () => {
  const { c, ws } = await seated();
  assert.deepEqual(ws.of(3), [[3, 1]], "the first frame is acknowledged");
  assert.equal(c.sendInput([1, 0]), 1);
  assert.deepEqual(ws.sent.at(-1), [2, 1, [1, 0], 1], "input 1 carries ack 1");
  ws.recv(delta(2, 1, 1));
  assert.deepEqual(ws.of(3), [[3, 1]], "no ack message: the last input carried one");
  assert.equal(c.sendInput([1, 0]), 2);
  assert.deepEqual(ws.sent.at(-1), [2, 2, [1, 0], 2]);
  ws.recv(delta(3, 2, 2));
  ws.recv(delta(4, 3, 2));
  assert.deepEqual(ws.of(3), [[3, 1], [3, 4]], "tick 3 rode on input 2; tick 4 needs an ack");
  assert.equal(c.tick, 4);
  assert.equal(c.inputSeq, 2);
  assert.equal(c.state.get(1).values[2], 115);
});

test("a checksum mismatch asks for a snapshot and skips deltas until it comes", async () => {
  const { c, ws } = await seated();
  /** @type {Error[]} */
  const desyncs = [];
  c.on("desync", (e) => desyncs.push(e));
  ws.recv(frame(2, 1, 0, [4, 5], [], [], 12345));
  assert.equal(desyncs.length, 1);
  assert.match(desyncs[0].message, /checksum/);
  assert.deepEqual(ws.sent.at(-1), [3, 0], "snapshot requested");
  assert.equal(c.tick, 1, "the bad frame was not applied");
  ws.recv(delta(3, 1));
  assert.equal(c.stats.skipped, 1);
  assert.equal(c.tick, 1);
  c.sendInput([0, 0]);
  assert.deepEqual(ws.sent.at(-1), [2, 1, [0, 0]], "inputs carry no ack while a snapshot is awaited");
  ws.recv(full(4));
  assert.equal(c.tick, 4);
  assert.equal(c.stats.desyncs, 1);
  ws.recv(delta(5, 4));
  assert.equal(c.tick, 5, "deltas apply again after the snapshot");
});

test("a lost connection resumes: resume message, held inputs resent after input_seq, duplicate events dropped", async () => {
  const { c, ws } = await seated({}, [[1, "e", null], [2, "e", { a: 1 }]]);
  /** @type {unknown[]} */
  const events = [];
  c.on("event", (e) => events.push(e.seq));
  /** @type {string[]} */
  const states = [];
  c.on("state", (s) => states.push(s));
  /** @type {any} */
  let resumed = null;
  c.on("resumed", (r) => (resumed = r));
  c.sendInput([1, 0]); // 1
  c.sendInput([1, 0]); // 2
  ws.recv(delta(2, 1, 1));
  ws.end(1006);
  assert.equal(c.connectionState, "reconnecting");
  assert.equal(c.sendInput([0, 1]), 3, "an input while offline gets its seq and waits");
  const ws2 = await opened(1); // attempt 1 is at once
  assert.equal(ScriptedSocket.all.length, 2);
  ws2.recv([101, "p1", "Ada", 1]);
  assert.deepEqual(ws2.sent, [[7, "tok-A", 2, 2]], "resume with the last applied tick and the last event seq");
  assert.equal(c.sendInput([0, 1]), 4);
  assert.deepEqual(ws2.of(2), [], "no input before the resumed frame tells which were applied");
  ws2.recv([108, "r1", "arena", 20, rawSchema, 64, "tok-B", true]);
  ws2.recv(delta(3, 2, 2, [[2, "e", { a: 1 }], [3, "e", null]]));
  assert.deepEqual(
    ws2.of(2).map((m) => m[1]),
    [3, 4],
    "inputs after input_seq 2 are sent, in order, under their seqs",
  );
  assert.deepEqual(states, ["reconnecting", "resuming", "connected"]);
  assert.deepEqual(resumed, { room: "r1", recovered: true, attempts: 1, duration: resumed.duration, snapshot: false, redirects: 0 });
  assert.deepEqual(events, [3], "event 2 was already delivered");
  assert.equal(c.stats.duplicateEvents, 1);
  assert.equal(c.lastEventSeq, 3);
  assert.equal(c.tick, 3);
  assert.equal(c.stats.resumes, 1);
  assert.equal(c.sendInput([0, 0]), 5);
  assert.equal(ws2.sent.at(-1)[1], 5);
  // The next outage resumes with the new token.
  ws2.end(1001);
  (await opened(2)).recv([101, "p1", "Ada", 1]);
  assert.deepEqual(ScriptedSocket.all[2].sent[0], [7, "tok-B", 3, 3]);
});

test("terminal close codes end the client without reconnecting", async () => {
  for (const code of [4509, 4502, 1003, 1008]) {
    const { c, ws } = await seated();
    /** @type {any} */
    let lost = null;
    c.on("lost", (e) => (lost = e));
    ws.end(code);
    await tick();
    assert.equal(lost?.code, code, `${code}: lost`);
    assert.equal(c.connectionState, "lost");
    assert.equal(ScriptedSocket.all.length, 1, `${code}: no new connection`);
    assert.equal(c.room, "");
    c.close();
    ScriptedSocket.all = [];
  }
});

test("a refused resume loses the seat; throttled retries the same token", async () => {
  const { c, ws } = await seated({ reconnect: { random: () => 0 } }); // no backoff wait
  ws.end(4001);
  const ws2 = await opened(1);
  ws2.recv([101, "p1", "Ada", 1]);
  assert.deepEqual(ws2.sent, [[7, "tok-A", 1, 0]]);
  ws2.recv([104, "throttled", "too often", 7]);
  assert.equal(c.connectionState, "resuming");
  for (let i = 0; i < 200 && ws2.sent.length < 2; i++) await tick();
  assert.deepEqual(ws2.sent[1], [7, "tok-A", 1, 0], "the same token again");
  /** @type {any} */
  let lost = null;
  c.on("lost", (e) => (lost = e));
  ws2.recv([104, "resume_expired", "grace window over", 7]);
  assert.equal(lost?.reason, "resume_expired");
  assert.equal(c.connectionState, "lost");
  assert.equal(c.room, "");
});

test("a silent connection is given up after the read timeout and reconnected", async () => {
  const { c } = await seated({ readTimeout: 50 });
  for (let i = 0; i < 400 && ScriptedSocket.all.length < 2; i++) await tick();
  assert.equal(ScriptedSocket.all.length, 2, "a new connection after 50 ms of silence");
  assert.equal(ScriptedSocket.all[0].closedWith, 4001);
  assert.equal(c.connectionState, "reconnecting");
});

test("server errors reach the join that caused them, or the error event", async () => {
  const { c, ws } = await seated();
  const j = c.join("nope");
  ws.recv([104, "unknown_room_type", "no such room type", 1]);
  await assert.rejects(j, { name: "ServerError", code: "unknown_room_type" });
  /** @type {any[]} */
  const errs = [];
  c.on("error", (e) => errs.push(e));
  c.sendMsg("nobody", 1);
  assert.deepEqual(ws.sent.at(-1), [5, "nobody", 1]);
  ws.recv([104, "player_offline", "offline", 5]);
  assert.equal(errs[0].code, "player_offline");
  ws.recv([199, "a future message type"]);
  assert.equal(c.stats.malformed, 0, "unknown types are skipped, not errors");
  ws.recv([101, "x"]);
  assert.equal(c.stats.malformed, 1, "a short message is malformed");
});

/** Cuts the seated client's connection and answers welcome on the next socket; returns it. */
async function reconnected(i) {
  const ws = await opened(i);
  ws.recv([101, "p1", "Ada", 1]);
  return ws;
}

test("a resume answered by redirect dials the redirect URL at once and resumes there", async () => {
  // random 0.99: a backoff wait would be visible (attempt 2 waits up to 200 ms).
  const { c, ws } = await seated({ reconnect: { random: () => 0.99 } });
  /** @type {any} */
  let resumed = null;
  c.on("resumed", (r) => (resumed = r));
  /** @type {{attempt: number, delay: number}[]} */
  const attempts = [];
  c.on("reconnecting", (a) => attempts.push(a));
  ws.end(1006);
  const ws2 = await reconnected(1);
  assert.equal(ws2.url, "ws://game.test/ws", "the first reconnection dials the client's URL");
  assert.deepEqual(ws2.sent, [[7, "tok-A", 1, 0]]);
  const t0 = Date.now();
  ws2.recv([110, "ws://node-b.test:8080/ws", 7]);
  assert.equal(ws2.closedWith, 1000, "the redirected connection is closed");
  assert.equal(c.connectionState, "reconnecting");
  const ws3 = await reconnected(2);
  assert.ok(Date.now() - t0 < 100, "no backoff before the redirected dial");
  assert.equal(ws3.url, "ws://node-b.test:8080/ws", "the next dial goes to the redirect URL");
  assert.deepEqual(ws3.protocols, ["tickroom.v1", `bearer.${token}`], "with the same player token");
  assert.deepEqual(ws3.sent, [[7, "tok-A", 1, 0]], "the same resume is sent there");
  assert.deepEqual(attempts.map((a) => [a.attempt, a.delay]), [[1, 0], [1, 0]], "the attempt counter restarts: attempt 1 is immediate");
  ws3.recv([108, "r1", "arena", 20, rawSchema, 64, "tok-B", true]);
  ws3.recv(delta(3, 1));
  assert.equal(c.connectionState, "connected");
  assert.equal(resumed?.room, "r1");
  assert.equal(resumed?.redirects, 1);
  assert.equal(resumed?.attempts, 1);
  assert.equal(c.stats.redirects, 1);
  assert.equal(c.stats.resumes, 1);
  assert.equal(c.tick, 3);
  // The redirect was a one-shot override: the next outage dials the client's URL again.
  ws3.end(1001);
  const ws4 = await opened(3);
  assert.equal(ws4.url, "ws://game.test/ws");
});

test("setUrl changes where reconnections dial", async () => {
  const { c, ws } = await seated();
  c.setUrl("https://lb.game.test");
  assert.equal(ScriptedSocket.all.length, 1, "the current connection stays");
  ws.end(1006);
  const ws2 = await opened(1);
  assert.equal(ws2.url, "wss://lb.game.test/ws");
});

test("more than 3 redirects in one outage lose the seat (room_gone)", async () => {
  const { c, ws } = await seated();
  /** @type {any} */
  let lost = null;
  c.on("lost", (e) => (lost = e));
  ws.end(1006);
  for (let i = 1; i <= 4; i++) {
    const w = await reconnected(i);
    assert.deepEqual(w.sent, [[7, "tok-A", 1, 0]], `resume ${i}`);
    if (i > 1) assert.equal(w.url, `ws://node-${i - 1}.test/ws`);
    w.recv([110, `ws://node-${i}.test/ws`, 7]);
  }
  await tick();
  assert.equal(ScriptedSocket.all.length, 5, "the 4th redirect is not followed");
  assert.equal(c.connectionState, "lost");
  assert.equal(lost?.reason, "room_gone");
  assert.equal(c.room, "");
  assert.equal(c.stats.redirects, 3);
});

test("an explicit join or resume answered by redirect rejects with a RedirectError", async () => {
  const { c, ws } = await seated();
  const j = c.joinSeat("seat-1");
  assert.deepEqual(ws.sent.at(-1), [1, "", "", "seat-1"]);
  ws.recv([110, "ws://node-b.test/ws", 1]);
  await assert.rejects(j, (e) => {
    assert.equal(e.name, "RedirectError");
    assert.equal(e.wsUrl, "ws://node-b.test/ws");
    assert.equal(e.ref, 1);
    return true;
  });
  const r = c.resume("tok-X");
  ws.recv([110, "ws://node-b.test/ws", 7]);
  await assert.rejects(r, { name: "RedirectError", ref: 7 });
  assert.equal(c.connectionState, "connected", "the connection and the seat are untouched");
  assert.equal(c.room, "r1");
  assert.equal(ScriptedSocket.all.length, 1, "no dial");
});

test("room_gone on an automatic resume loses the seat; unavailable retries the same token", async () => {
  const { c, ws } = await seated({ reconnect: { random: () => 0 } });
  ws.end(1006);
  const ws2 = await reconnected(1);
  ws2.recv([104, "unavailable", "store out", 7]);
  assert.equal(c.connectionState, "resuming", "unavailable changed nothing: retried");
  for (let i = 0; i < 200 && ws2.sent.length < 2; i++) await tick();
  assert.deepEqual(ws2.sent[1], [7, "tok-A", 1, 0], "the same token again");
  /** @type {any} */
  let lost = null;
  c.on("lost", (e) => (lost = e));
  ws2.recv([104, "room_gone", "the seat's node died", 7]);
  assert.equal(c.connectionState, "lost");
  assert.equal(lost?.name, "ConnectionError");
  assert.equal(lost?.reason, "room_gone");
  assert.equal(c.room, "");
  await tick();
  assert.equal(ScriptedSocket.all.length, 2, "no further dial");
  assert.equal(c.stats.errors, 0, "a refused automatic resume is handled, not reported");
});

test("matched decodes ws_url; ticketJoin and quickJoin move to the room's server", async () => {
  /** @type {any[]} */
  const calls = [];
  const reply = (body) => ({ ok: true, status: 200, headers: new Headers(), text: async () => JSON.stringify(body) });
  const fetch = async (url, init) => {
    calls.push([init.method, String(url)]);
    if (String(url).endsWith("/v1/matchmaking/tickets")) return reply({ ticket_id: "t-1", mode: "arena", status: "queued" });
    if (String(url).endsWith("/v1/matchmake/join-or-create"))
      return reply({ room_id: "r-9", mode: "arena", ws_url: "ws://node-c.test/ws", seat_token: "seat-9", expires_at: "" });
    throw new Error("unexpected " + url);
  };
  const c = new Client({ url: "http://game.test", token, fetch: /** @type {any} */ (fetch), WebSocket: /** @type {any} */ (ScriptedSocket), pingInterval: 1e9 });
  clients.push(c);
  const conn = c.connect();
  const ws = await opened(0);
  ws.recv([101, "p1", "Ada", 1]);
  await conn;
  /** @type {any[]} */
  const pushed = [];
  c.on("matched", (m) => pushed.push(m));
  const tj = c.ticketJoin({ mode: "arena" }, { pollInterval: 1e9 });
  for (let i = 0; i < 100 && calls.length < 1; i++) await tick();
  await tick();
  ws.recv([109, "t-1", "arena", "r-7", "seat-1", 1767225600000, "ws://node-b.test:8080/ws"]);
  assert.equal(pushed[0].wsUrl, "ws://node-b.test:8080/ws");
  const ws2 = await opened(1);
  assert.equal(ws2.url, "ws://node-b.test:8080/ws", "a new connection on the room's server");
  assert.equal(ws.closedWith, 1000, "the old one is closed");
  assert.equal(c.connectionState, "connecting");
  ws2.recv([101, "p1", "Ada", 1]);
  await tick();
  assert.deepEqual(ws2.sent, [[1, "", "", "seat-1"]], "the seat is taken there");
  ws2.recv([102, "r-7", "arena", 20, rawSchema, 64, "tok-A"]);
  ws2.recv(full(1));
  assert.equal((await tj).roomId, "r-7");
  // Reconnections now dial the room's server.
  ws2.end(1006);
  const ws3 = await reconnected(2);
  assert.equal(ws3.url, "ws://node-b.test:8080/ws");
  ws3.recv([108, "r-7", "arena", 20, rawSchema, 64, "tok-B", true]);
  ws3.recv(full(2));
  const lv = c.leave();
  assert.deepEqual(ws3.sent.at(-1), [4]);
  ws3.recv([106, "r-7", "leave"]);
  assert.equal(await lv, "leave");
  // quickJoin: the reservation's ws_url is another server again.
  const qj = c.quickJoin("arena");
  const ws4 = await opened(3);
  assert.equal(ws4.url, "ws://node-c.test/ws");
  ws4.recv([101, "p1", "Ada", 1]);
  await tick();
  assert.deepEqual(ws4.sent, [[1, "", "", "seat-9"]]);
  ws4.recv([102, "r-9", "arena", 20, rawSchema, 64, "tok-C"]);
  ws4.recv(full(1));
  assert.equal((await qj).roomId, "r-9");
  assert.equal(ScriptedSocket.all.length, 4);
});
