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
  assert.deepEqual(resumed, { room: "r1", recovered: true, attempts: 1, duration: resumed.duration, snapshot: false });
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
