// Decodes the interop vectors written by the Go encoders
// (testdata/interop, web/interop_test.go) and checks that this client
// reaches the same states, checksums and events, and reads every message.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { decode } from "@msgpack/msgpack";
import { codec, FieldFloat, FieldInt, Replica, Schema } from "../src/index.js";

const dir = new URL("../../../testdata/interop/", import.meta.url);
const load = (name) => JSON.parse(readFileSync(new URL(name, dir), "utf8"));
const bytes = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));

/** The state as the vectors write it: ints as decimal strings, -0 kept. */
function asJSON(schema, state) {
  return state.entities.map((e) => ({
    id: e.id,
    kind: e.kind,
    values: e.values.map((v, i) => {
      const t = schema.kinds[e.kind].fields[i].type;
      if (t === FieldInt) return String(v);
      if (t === FieldFloat) return Object.is(v, -0) ? "-0" : v;
      return v;
    }),
  }));
}
const wantJSON = (state) =>
  state.map((e) => ({ ...e, values: e.values.map((v) => (Object.is(v, -0) ? "-0" : v)) }));

test("interop frames: same states, checksums and events as the Go encoder", () => {
  const v = load("frames.json");
  const schema = new Schema(decode(bytes(v.schema_hex)));
  assert.deepEqual(schema.kinds.map((k) => k.name), v.schema.map((k) => k[0]));
  const rep = new Replica(schema, v.history);
  assert.ok(v.frames.length >= 8, "the vectors hold a sequence of frames");
  let lastEvent = 0;
  for (const f of v.frames) {
    const m = codec.decodeServer(bytes(f.hex));
    assert.equal(m.type, codec.MsgFrame, f.name);
    assert.equal(m.tick, f.tick, f.name);
    assert.equal(m.age, f.base_tick ? f.tick - f.base_tick : 0, f.name);
    assert.equal(m.inputSeq, f.input_seq, f.name);
    assert.equal(m.checksum, f.checksum, f.name);
    const st = rep.apply(m); // throws a DesyncError on a checksum mismatch
    assert.equal(st.tick, f.tick, f.name);
    assert.equal(st.checksum, f.checksum, f.name);
    assert.deepEqual(asJSON(schema, st), wantJSON(f.state), f.name);
    assert.deepEqual(m.events.map((e) => [e.seq, e.name, e.payload]), f.events, f.name);
    for (const e of m.events) {
      assert.ok(e.seq > lastEvent, "events in seq order");
      lastEvent = e.seq;
    }
  }
});

test("interop frames: a replica that lost a base reports a desync", () => {
  const v = load("frames.json");
  const schema = new Schema(decode(bytes(v.schema_hex)));
  const rep = new Replica(schema, v.history);
  rep.apply(codec.decodeServer(bytes(v.frames[0].hex)));
  // Skip frame 1: frame 2 is a delta against tick 2, which is not held.
  assert.throws(() => rep.apply(codec.decodeServer(bytes(v.frames[2].hex))), { name: "DesyncError" });
  assert.equal(rep.lastTick(), 0, "no trusted state to resume from after a desync");
});

test("interop frames: a corrupted checksum is a desync", () => {
  const v = load("frames.json");
  const schema = new Schema(decode(bytes(v.schema_hex)));
  const rep = new Replica(schema, v.history);
  const m = codec.decodeServer(bytes(v.frames[0].hex));
  m.checksum = (m.checksum + 1) >>> 0;
  assert.throws(() => rep.apply(m), /checksum/);
});

test("interop messages: every server message decodes to its fields", () => {
  const msgs = load("messages.json");
  const names = new Set(msgs.map((m) => m.name));
  for (const n of ["welcome", "joined", "resumed", "direct", "left", "pong", "matched", "matched_remote", "redirect", "error_bad_message", "error_throttled", "error_room_gone", "error_unavailable"]) {
    assert.ok(names.has(n), `vector ${n} present`);
  }
  const camel = (s) => s.replace(/_(.)/g, (_, c) => c.toUpperCase());
  for (const v of msgs.filter((m) => m.dir === "s2c")) {
    const m = codec.decodeServer(bytes(v.hex));
    assert.equal(m.type, v.value[0], v.name);
    for (const [k, want] of Object.entries(v.fields ?? {})) {
      assert.deepEqual(m[camel(k)], want, `${v.name}.${k}`);
    }
    if (v.name.startsWith("joined") || v.name.startsWith("resumed")) {
      const s = new Schema(m.schema);
      assert.equal(s.maskWidth, 6, `${v.name}: arena schema, W = 6`);
    }
    if (v.name === "direct") assert.deepEqual(m.payload, { hi: 1 });
    if (v.name === "pong") assert.equal(m.data, 1700000000000);
    if (v.name === "pong_nil") assert.equal(m.data, null);
    if (v.name === "matched") assert.equal(m.wsUrl, "", "matched: no ws_url means the pushing server");
    if (v.name === "matched_remote") assert.equal(m.wsUrl, "ws://10.0.0.2:8080/ws");
    if (v.name === "redirect") assert.deepEqual([m.type, m.wsUrl, m.ref], [codec.MsgRedirect, "ws://10.0.0.2:8080/ws", codec.MsgResume]);
  }
});

test("interop messages: client messages encode to values the Go decoder accepts", () => {
  const msgs = load("messages.json").filter((m) => m.dir === "c2s");
  const enc = {
    join: () => codec.encodeJoin("arena"),
    join_room: () => codec.encodeJoin("", "r-7"),
    join_seat: () => codec.encodeJoinSeat("seat-1"),
    input: () => codec.encodeInput(1, [0.5, -1]),
    input_ack: () => codec.encodeInput(2, [0.5, -1], 100),
    ack: () => codec.encodeAck(100),
    ack_snapshot: () => codec.encodeAck(0),
    leave: () => codec.encodeLeave(),
    msg: () => codec.encodeMsg("p-bob", [3, 10]),
    ping: () => codec.encodePing(1700000000000),
    ping_empty: () => codec.encodePing(),
    resume: () => codec.encodeResume("tok-A", 120, 7),
  };
  assert.deepEqual(Object.keys(enc).sort(), msgs.map((m) => m.name).sort(), "one encoder per client vector");
  for (const v of msgs) {
    const got = enc[v.name]();
    // The same msgpack value as Go's; the same bytes too, since both use
    // the smallest encodings, except for a whole float (-1.0), which JS
    // cannot tell from the int -1 (the arena accepts both, PROTOCOL §2).
    assert.deepEqual(decode(got), decode(bytes(v.hex)), v.name);
    if (!v.name.startsWith("input")) assert.equal(Buffer.from(got).toString("hex"), v.hex, v.name);
  }
});
