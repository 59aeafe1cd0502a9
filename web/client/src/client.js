// The tickroom client: one player's connection to a server, its seat and
// the replica of its room (docs/PROTOCOL.md), with automatic reconnection
// and resume (§9).
import * as api from "./api.js";
import { backoffDelay, DefaultReconnectBase, DefaultReconnectCap, DefaultReconnectWindow, isTerminalClose } from "./backoff.js";
import * as codec from "./codec.js";
import { DesyncError, Replica, Schema } from "./replica.js";
import { ConnectionError, RedirectError, ServerError, tokenExpiry } from "./errors.js";
import { waitForMatch } from "./ticket.js";

export { ConnectionError, RedirectError, ServerError };

/**
 * The most redirects one outage follows (PROTOCOL §3 `redirect`, as the Go
 * SDK): two servers that disagree cannot bounce a client forever; more
 * count as room_gone.
 */
export const MaxRedirects = 3;

/**
 * Whether url is a usable WebSocket URL from the server (ws: or wss:, with
 * a host).
 * @param {string} url
 */
function validWS(url) {
  try {
    const u = new URL(url);
    return (u.protocol === "ws:" || u.protocol === "wss:") && u.host !== "";
  } catch {
    return false;
  }
}

/**
 * Whether two WebSocket URLs name the same endpoint (after URL
 * normalisation: default ports, case of scheme and host).
 * @param {string} a @param {string} b
 */
function sameURL(a, b) {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return a === b;
  }
}

const newStats = () => ({
  bytesReceived: 0,
  messagesReceived: 0,
  frames: 0,
  snapshots: 0,
  deltas: 0,
  skipped: 0,
  desyncs: 0,
  events: 0,
  duplicateEvents: 0,
  inputsSent: 0,
  inputsBuffered: 0,
  inputsResent: 0,
  inputsDropped: 0,
  acksSent: 0,
  errors: 0,
  malformed: 0,
  disconnects: 0,
  reconnectAttempts: 0,
  resumes: 0,
  redirects: 0,
  unrecovered: 0,
});

/**
 * A tickroom client. See index.d.ts for the documented API.
 *
 * Every callback runs on the JS event loop, in the order the server sent
 * the messages. Nothing here blocks.
 */
export class Client {
  /** @param {import("../index.js").ClientOptions} opts */
  constructor(opts) {
    if (!opts || !opts.url) throw new TypeError("tickroom: ClientOptions.url is required");
    this.opts = opts;
    /** The server URL of ClientOptions: the HTTP API's base. */
    this.url = opts.url;
    /** Where connections dial (ClientOptions.url's …/ws; setUrl, or a move to a reservation's server, changes it). */
    this.dialUrl = api.wsURL(opts.url);
    /** The URL the current (or last) connection was dialled at. */
    this.connUrl = "";
    /** The next dial goes here instead of dialUrl, once (a followed redirect). */
    this.redirectTo = "";
    /** @type {typeof WebSocket} */
    this.WS = opts.WebSocket ?? globalThis.WebSocket;
    if (!this.WS) throw new TypeError("tickroom: no WebSocket implementation (pass ClientOptions.WebSocket)");
    this.reconnect =
      opts.reconnect === false
        ? null
        : {
            base: opts.reconnect?.base ?? DefaultReconnectBase,
            cap: opts.reconnect?.cap ?? DefaultReconnectCap,
            window: opts.reconnect?.window ?? DefaultReconnectWindow,
            inputs: opts.reconnect?.inputs ?? 8,
            random: opts.reconnect?.random ?? Math.random,
          };
    this.readTimeout = opts.readTimeout ?? 15000;
    this.pingInterval = opts.pingInterval ?? 5000;
    this.token = opts.token ?? "";
    /** @type {Map<string, Set<Function>>} */
    this.handlers = new Map();
    this.stats = newStats();
    /** @type {import("../index.js").ConnectionState} */
    this.connectionState = "idle";
    this.playerId = "";
    this.name = "";
    /** @type {WebSocket | null} */
    this.ws = null;
    this.established = false;
    this.closing = false;
    // seat
    this.room = "";
    this.roomType = "";
    this.tickRate = 0;
    this.resumeToken = "";
    /** @type {Replica | null} */
    this.replica = null;
    this.tick = 0;
    this.inputSeq = 0;
    this.lastEventSeq = 0;
    // sending
    this.seq = 0;
    this.ack = 0;
    this.fed = false;
    this.leaving = false;
    this.hold = false;
    /** @type {{seq: number, payload: unknown, sent: boolean}[]} */
    this.pending = [];
    this.awaitFrame = false;
    /** @type {null | {start: number, attempts: number, resuming: boolean, resumed: boolean, recovered: boolean, dialStart: number, redirects: number}} */
    this.outage = null;
    /** @type {null | {resolve: Function, reject: Function, prev: string}} */
    this.moveW = null;
    /** @type {null | {resolve: Function, reject: Function}} */
    this.connectW = null;
    /** @type {null | {resolve: Function, reject: Function, info?: any}} */
    this.joinW = null;
    /** @type {null | {resolve: Function, reject: Function}} */
    this.leaveW = null;
    /** @type {Map<number, {resolve: Function, reject: Function, sent: number}>} */
    this.pings = new Map();
    this.pingId = 0;
    this.rtt = 0;
    /** @type {any} */
    this.timers = { read: null, ping: null, retry: null };
  }

  // ---- events ----

  /**
   * Registers fn for event name; returns a function that unregisters it.
   * @param {string} name
   * @param {Function} fn
   */
  on(name, fn) {
    let s = this.handlers.get(name);
    if (!s) this.handlers.set(name, (s = new Set()));
    s.add(fn);
    return () => s.delete(fn);
  }

  /** @param {string} name @param {...unknown} args */
  emit(name, ...args) {
    for (const fn of this.handlers.get(name) ?? []) {
      try {
        fn(...args);
      } catch (e) {
        console.error(`tickroom: ${name} handler threw`, e);
      }
    }
  }

  /** @param {import("../index.js").ConnectionState} s */
  setState(s) {
    if (this.connectionState === s) return;
    this.connectionState = s;
    this.emit("state", s);
  }

  /** The latest applied state of the room, null if none. */
  get state() {
    return this.replica?.latest ?? null;
  }

  /** Whether a connection is open and welcomed. */
  get online() {
    return this.connectionState === "connected" || this.connectionState === "resuming";
  }

  // ---- connecting ----

  /**
   * Gets a guest token if none was given, opens the connection and waits
   * for `welcome`.
   * @returns {Promise<{playerId: string, name: string}>}
   */
  async connect() {
    if (this.established || this.connectW) throw new Error("tickroom: connect called twice");
    if (!this.token) {
      const g = await api.guestAuth(api.httpBase(this.url), this.opts.name, { fetch: this.opts.fetch });
      this.token = g.token;
    }
    this.setState("connecting");
    return new Promise((resolve, reject) => {
      this.connectW = { resolve, reject };
      this.dial();
    });
  }

  dial() {
    let ws;
    let url = this.dialUrl;
    if (this.redirectTo) {
      url = this.redirectTo;
      this.redirectTo = "";
    }
    this.connUrl = url;
    try {
      if (this.opts.tokenIn === "query") {
        const u = new URL(url);
        u.searchParams.set("access_token", this.token);
        ws = new this.WS(u.toString());
      } else {
        ws = new this.WS(url, ["tickroom.v1", `bearer.${this.token}`]);
      }
    } catch (e) {
      queueMicrotask(() => this.onClose(null, 1006, String(e)));
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.welcomed = false;
    ws.onmessage = (ev) => this.onMessage(ws, ev.data);
    ws.onclose = (ev) => this.onClose(ws, ev.code || 1005, ev.reason || "");
    ws.onerror = () => {}; // onclose follows with the code
    ws.onopen = () => this.alive(ws);
  }

  /**
   * Changes where later connections dial (reconnections, not the current
   * connection), e.g. to a load balancer in front of a cluster's servers:
   * a reconnection that reaches a server that does not hold the seat is
   * redirected to the one that does. Takes the forms of ClientOptions.url.
   * The HTTP API (quickJoin, ticketJoin) keeps using ClientOptions.url.
   * @param {string} url
   */
  setUrl(url) {
    this.dialUrl = api.wsURL(url);
  }

  /**
   * Moves an unseated, connected client to the server at wsUrl (a
   * reservation's or a `matched` push's ws_url: the room runs there, in a
   * cluster): the current connection is closed (1000) and a new one, with
   * the same player token, is opened there; later reconnections dial it
   * too. Resolves once it is welcomed; at once when wsUrl is the current
   * connection's server. quickJoin and ticketJoin call it.
   * @param {string} wsUrl
   * @returns {Promise<void>}
   */
  moveTo(wsUrl) {
    if (sameURL(wsUrl, this.connUrl)) return Promise.resolve();
    if (!validWS(wsUrl)) return Promise.reject(new Error(`tickroom: not a WebSocket URL: ${wsUrl}`));
    if (this.connectionState !== "connected") return Promise.reject(new Error(`tickroom: not connected (${this.connectionState})`));
    if (this.room) return Promise.reject(new Error("tickroom: the seat is on another server; leave the current room first"));
    if (this.joinW || this.moveW) return Promise.reject(new Error("tickroom: a join is already in progress"));
    const old = this.ws;
    this.ws = null;
    if (old) {
      old.onmessage = old.onclose = old.onopen = null;
      try {
        old.close(1000, "moving to the room's server");
      } catch {
        // already closed
      }
    }
    clearTimeout(this.timers.read);
    this.failWaiters(new ConnectionError("tickroom: the connection moved to another server", 1000, "moved"));
    return new Promise((resolve, reject) => {
      this.moveW = { resolve, reject, prev: this.dialUrl };
      this.dialUrl = new URL(wsUrl).href;
      this.setState("connecting");
      this.dial();
    });
  }

  /**
   * Restarts the read timer: a connection silent for readTimeout is dead
   * (PROTOCOL §9.2). Browsers do not show WebSocket pings to scripts, so
   * the client sends an application ping every pingInterval to keep
   * answers flowing.
   * @param {WebSocket} ws
   */
  alive(ws) {
    if (this.closing || ws !== this.ws) return; // a socket that opened after close()
    clearTimeout(this.timers.read);
    this.timers.read = setTimeout(() => {
      if (this.ws === ws) this.kill(4001, "no message for the read timeout");
    }, this.readTimeout);
    if (!this.timers.ping) {
      this.timers.ping = setInterval(() => {
        if (this.ws && this.ws.readyState === 1) this.write(codec.encodePing());
      }, this.pingInterval);
    }
  }

  /**
   * Ends the current socket at once, without waiting for the closing
   * handshake, and handles it as a lost connection with `code`: the client
   * reconnects and resumes (a code of 4000–4499 or 1006) like after any
   * network failure. The server sees a close frame, or nothing if the
   * network is gone; either way the seat enters its grace window. The demo's
   * "drop connection" button calls it.
   * @param {number} [code] 4000 by default
   * @param {string} [reason]
   */
  kill(code = 4000, reason = "dropped by the client") {
    const ws = this.ws;
    if (!ws) return;
    ws.onmessage = ws.onclose = ws.onopen = null;
    try {
      ws.close(code >= 3000 && code <= 4999 ? code : 4000, reason);
    } catch {
      // already closed
    }
    this.onClose(ws, code, reason);
  }

  /** Alias of kill (the demo's "drop connection"). */
  drop() {
    this.kill(4000, "dropped by the client");
  }

  /**
   * @param {WebSocket | null} ws
   * @param {number} code
   * @param {string} reason
   */
  onClose(ws, code, reason) {
    if (ws && ws !== this.ws) return;
    this.ws = null;
    clearTimeout(this.timers.read);
    const err = new ConnectionError(`tickroom: connection closed (${code}${reason ? " " + reason : ""})`, code, reason);
    this.failWaiters(err);
    if (this.closing) {
      this.stopTimers();
      this.setState("closed");
      return;
    }
    if (!this.established) {
      this.stopTimers();
      this.setState("closed");
      this.connectW?.reject(err);
      this.connectW = null;
      return;
    }
    if (!this.outage) {
      this.stats.disconnects++;
      this.emit("disconnected", err);
    }
    if (!this.reconnect || isTerminalClose(code)) {
      this.lose(err);
      return;
    }
    const now = Date.now();
    if (!this.outage) {
      this.outage = { start: now, attempts: 0, resuming: false, resumed: false, recovered: true, dialStart: 0, redirects: 0 };
      this.hold = true;
    }
    this.outage.resuming = this.outage.resumed = false;
    if (now - this.outage.start > this.reconnect.window) {
      this.lose(new ConnectionError(`tickroom: could not reconnect within ${this.reconnect.window} ms: ${err.message}`, code, reason));
      return;
    }
    const exp = tokenExpiry(this.token);
    if (exp && exp <= now) {
      this.lose(new ConnectionError("tickroom: the token expired; cannot reconnect", code, reason));
      return;
    }
    this.retry();
  }

  /** Schedules the next reconnection attempt (PROTOCOL §9.3). */
  retry() {
    const o = /** @type {NonNullable<typeof this.outage>} */ (this.outage);
    o.attempts++;
    this.stats.reconnectAttempts++;
    const delay = backoffDelay(o.attempts, this.reconnect ?? {});
    this.setState("reconnecting");
    this.emit("reconnecting", { attempt: o.attempts, delay });
    clearTimeout(this.timers.retry);
    this.timers.retry = setTimeout(() => {
      if (this.closing || this.outage !== o) return;
      if (!o.dialStart) o.dialStart = Date.now();
      this.dial();
    }, delay);
  }

  /** @param {Error} err */
  lose(err) {
    this.stopTimers();
    this.outage = null;
    this.redirectTo = "";
    this.clearSeat();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onmessage = ws.onclose = null;
      ws.close(1000);
    }
    this.setState("lost");
    this.emit("lost", err);
  }

  /** @param {Error} err */
  failWaiters(err) {
    // A join, leave, move or ping in flight on a connection that died fails
    // (the seat itself, if any, is resumed on the next connection). A move
    // that failed leaves later reconnections on the previous server.
    if (this.moveW) {
      const w = this.moveW;
      this.moveW = null;
      this.dialUrl = w.prev;
      w.reject(err);
    }
    this.joinW?.reject(err);
    this.joinW = null;
    this.leaveW?.reject(err);
    this.leaveW = null;
    for (const p of this.pings.values()) p.reject(err);
    this.pings.clear();
  }

  stopTimers() {
    clearTimeout(this.timers.read);
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.retry);
    this.timers = { read: null, ping: null, retry: null };
  }

  /** Closes the connection (1000); the client does not reconnect. */
  close() {
    this.closing = true;
    this.stopTimers();
    this.outage = null;
    const ws = this.ws;
    if (ws) {
      ws.close(1000, "client closed");
      this.onClose(ws, 1000, "client closed");
    } else {
      this.setState("closed");
    }
  }

  // ---- writing ----

  /** @param {Uint8Array} b */
  write(b) {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1 || !this.welcomed) return false;
    if (b.byteLength > codec.MaxClientMessage) throw new RangeError("tickroom: message larger than 16 KiB");
    ws.send(b);
    return true;
  }

  // ---- reading ----

  /**
   * @param {WebSocket} ws
   * @param {unknown} data
   */
  onMessage(ws, data) {
    if (ws !== this.ws) return;
    this.alive(ws);
    if (!(data instanceof ArrayBuffer)) {
      this.stats.malformed++; // the protocol is binary only
      return;
    }
    this.stats.bytesReceived += data.byteLength;
    this.stats.messagesReceived++;
    let m;
    try {
      m = codec.decodeServer(new Uint8Array(data));
    } catch (e) {
      this.stats.malformed++;
      this.emit("malformed", e);
      return;
    }
    switch (m.type) {
      case codec.MsgWelcome:
        return this.onWelcome(m);
      case codec.MsgJoined:
      case codec.MsgResumed:
        return this.onSeat(m);
      case codec.MsgFrame:
        return this.onFrame(m, data.byteLength);
      case codec.MsgError:
        return this.onError(new ServerError(/** @type {string} */ (m.code), /** @type {string} */ (m.message), /** @type {number} */ (m.ref)));
      case codec.MsgDirect:
        return this.emit("message", { from: m.from, payload: m.payload });
      case codec.MsgLeft:
        return this.onLeft(/** @type {string} */ (m.roomId), /** @type {string} */ (m.reason));
      case codec.MsgPong:
        return this.onPong(m.data);
      case codec.MsgMatched:
        return this.emit("matched", m);
      case codec.MsgRedirect:
        return this.onRedirect(/** @type {string} */ (m.wsUrl), /** @type {number} */ (m.ref));
      default:
      // unknown types are skipped (PROTOCOL §3)
    }
  }

  /** @param {any} m */
  onWelcome(m) {
    if (this.welcomed) {
      this.stats.malformed++;
      return;
    }
    this.welcomed = true;
    if (this.moveW) {
      const w = this.moveW;
      this.moveW = null;
      this.setState("connected");
      w.resolve();
      return;
    }
    if (!this.established) {
      this.established = true;
      this.playerId = m.playerId;
      this.name = m.name;
      this.setState("connected");
      this.emit("connected", { playerId: m.playerId, name: m.name });
      this.connectW?.resolve({ playerId: m.playerId, name: m.name });
      this.connectW = null;
      return;
    }
    const o = this.outage;
    if (!o) return;
    if (this.room && this.resumeToken) {
      o.resuming = true;
      this.setState("resuming");
      this.write(codec.encodeResume(this.resumeToken, this.replica?.lastTick() ?? 0, this.lastEventSeq));
      return;
    }
    // No seat: only the connection was restored.
    this.finishOutage(false);
  }

  /** @param {boolean} snapshot */
  finishOutage(snapshot) {
    const o = this.outage;
    if (!o) return;
    this.outage = null;
    this.hold = false;
    this.stats.resumes++;
    if (!o.recovered) this.stats.unrecovered++;
    this.setState("connected");
    this.emit("resumed", {
      room: this.room,
      recovered: o.recovered,
      attempts: o.attempts,
      duration: Date.now() - (o.dialStart || o.start),
      snapshot,
      redirects: o.redirects,
    });
  }

  /** @param {any} m */
  onSeat(m) {
    let schema;
    try {
      schema = new Schema(m.schema);
    } catch (e) {
      this.stats.malformed++;
      this.joinW?.reject(e);
      this.joinW = null;
      return;
    }
    const resumed = m.type === codec.MsgResumed;
    const o = this.outage;
    if (resumed && o && o.resuming && m.roomId === this.room && this.replica) {
      // Our own resume: same seat, same replica; the next frame is a
      // delta from our last tick (or a snapshot).
      o.resumed = true;
      o.recovered = m.recovered;
      this.resumeToken = m.resumeToken;
      this.awaitFrame = true;
      return;
    }
    // A new seat (joined, or an explicit resume).
    this.room = m.roomId;
    this.roomType = m.roomType;
    this.tickRate = m.tickRate;
    this.resumeToken = m.resumeToken;
    this.replica = new Replica(schema, m.history);
    this.tick = this.inputSeq = 0;
    this.lastEventSeq = 0;
    this.seq = this.ack = 0;
    this.fed = this.leaving = false;
    this.pending = [];
    this.hold = resumed;
    this.awaitFrame = resumed;
    if (resumed && !m.recovered) this.stats.unrecovered++;
    if (this.joinW) this.joinW.info = { roomId: m.roomId, roomType: m.roomType, tickRate: m.tickRate, schema, resumed };
  }

  /**
   * @param {any} m
   * @param {number} size
   */
  onFrame(m, size) {
    this.stats.frames++;
    if (m.age === 0) this.stats.snapshots++;
    else this.stats.deltas++;
    const rep = this.replica;
    if (!rep) {
      this.stats.malformed++; // a frame before joined
      return;
    }
    // Inputs up to input_seq were applied; after a resume, the held ones
    // after it go out now under their own seqs.
    this.pending = this.pending.filter((p) => p.seq > m.inputSeq);
    if (this.awaitFrame) {
      this.awaitFrame = false;
      this.seq = Math.max(this.seq, m.inputSeq);
      this.hold = false;
      if (!this.leaving) {
        for (const p of this.pending) {
          this.writeInput(p);
          this.stats.inputsResent++;
        }
      }
    }
    if (rep.waitFull && m.age !== 0) {
      this.stats.skipped++;
      // The snapshot request is normally answered at the next tick; asking
      // again now and then makes a lost request harmless.
      if (this.stats.skipped % 20 === 0) this.requestSnapshot();
    } else {
      try {
        const st = rep.apply(m);
        this.tick = m.tick;
        this.inputSeq = m.inputSeq;
        this.applied(m.tick);
        if (this.joinW && this.joinW.info) {
          const w = this.joinW;
          this.joinW = null;
          w.resolve({ ...w.info, tick: m.tick });
        }
        if (this.outage?.resumed) this.finishOutage(m.age === 0);
        this.emit("frame", { room: this.room, tick: m.tick, age: m.age, inputSeq: m.inputSeq, size, state: st });
      } catch (e) {
        if (!(e instanceof DesyncError)) throw e;
        this.stats.desyncs++;
        this.emit("desync", e);
        this.requestSnapshot();
      }
    }
    for (const e of m.events) {
      // Events arrive in seq order and never twice (PROTOCOL §6, §9), across
      // resumes too; a repeat is dropped and counted.
      if (e.seq <= this.lastEventSeq) {
        this.stats.duplicateEvents++;
        continue;
      }
      this.lastEventSeq = e.seq;
      this.stats.events++;
      this.emit("event", { room: this.room, seq: e.seq, name: e.name, payload: e.payload });
    }
  }

  /**
   * Acknowledges an applied tick: with the next input when inputs flow,
   * else with an ack message.
   * @param {number} tick
   */
  applied(tick) {
    this.ack = tick;
    if (tick === 0 || this.leaving) return;
    if (this.fed) {
      this.fed = false;
      return;
    }
    if (this.write(codec.encodeAck(tick))) this.stats.acksSent++;
  }

  /** @param {ServerError} e */
  onError(e) {
    const o = this.outage;
    if (e.ref === codec.MsgResume && o && o.resuming && !o.resumed) {
      if (e.code === "resume_expired" || e.code === "resume_rejected" || e.code === "room_gone") {
        // The seat is gone for good (room_gone: its server died).
        this.lose(new ConnectionError(`tickroom: the seat is gone: ${e.message}`, 0, e.code));
        return;
      }
      // Nothing changed (throttled: the seat changed connections too
      // often; unavailable: the cluster's store is out): retry the resume
      // with the same token on this connection after a backoff, while the
      // reconnect window lasts.
      o.attempts++;
      const delay = backoffDelay(o.attempts, this.reconnect ?? {});
      if (Date.now() + delay - o.start > (this.reconnect?.window ?? DefaultReconnectWindow)) {
        this.lose(new ConnectionError(`tickroom: could not resume within ${this.reconnect?.window ?? DefaultReconnectWindow} ms: ${e.message}`, 0, e.code));
        return;
      }
      clearTimeout(this.timers.retry);
      this.timers.retry = setTimeout(() => {
        if (this.outage === o && this.ws) this.write(codec.encodeResume(this.resumeToken, this.replica?.lastTick() ?? 0, this.lastEventSeq));
      }, delay);
      return;
    }
    this.stats.errors++;
    if ((e.ref === codec.MsgJoin || e.ref === codec.MsgResume) && this.joinW && !this.joinW.info) {
      const w = this.joinW;
      this.joinW = null;
      w.reject(e);
      return;
    }
    this.emit("error", e);
  }

  /**
   * Handles `redirect` (PROTOCOL §3, §9.1). Answering the client's own
   * resume, the next dial goes to wsUrl at once (no backoff: nothing
   * failed), at most MaxRedirects times per outage; more mean the seat is
   * gone (room_gone). Answering an explicit join, joinSeat or resume, that
   * call rejects with a RedirectError.
   * @param {string} wsUrl @param {number} ref
   */
  onRedirect(wsUrl, ref) {
    const o = this.outage;
    if (ref === codec.MsgResume && o && o.resuming && !o.resumed) {
      o.resuming = false;
      o.redirects++;
      if (!validWS(wsUrl)) {
        this.lose(new ConnectionError("tickroom: the seat is gone: resume redirected to an invalid URL", 0, "bad_message"));
        return;
      }
      if (o.redirects > MaxRedirects) {
        this.lose(new ConnectionError(`tickroom: the seat is gone: more than ${MaxRedirects} redirects`, 0, "room_gone"));
        return;
      }
      this.stats.redirects++;
      const ws = this.ws;
      this.ws = null;
      if (ws) {
        ws.onmessage = ws.onclose = ws.onopen = null;
        try {
          ws.close(1000, "redirected");
        } catch {
          // already closed
        }
      }
      clearTimeout(this.timers.read);
      this.failWaiters(new ConnectionError("tickroom: the resume was redirected to another server", 1000, "redirect"));
      if (Date.now() - o.start > (this.reconnect?.window ?? DefaultReconnectWindow)) {
        this.lose(new ConnectionError(`tickroom: could not reconnect within ${this.reconnect?.window ?? DefaultReconnectWindow} ms`, 0, "redirect"));
        return;
      }
      this.redirectTo = wsUrl;
      o.attempts = 0; // the first attempt of a backoff is immediate
      this.retry();
      return;
    }
    if ((ref === codec.MsgJoin || ref === codec.MsgResume) && this.joinW && !this.joinW.info) {
      const w = this.joinW;
      this.joinW = null;
      w.reject(new RedirectError(wsUrl, ref));
    }
  }

  /** @param {string} roomId @param {string} reason */
  onLeft(roomId, reason) {
    if (roomId === this.room) this.clearSeat();
    this.leaveW?.resolve(reason);
    this.leaveW = null;
    if (this.joinW?.info?.roomId === roomId) {
      this.joinW.reject(new Error(`tickroom: left room ${roomId} before its first frame: ${reason}`));
      this.joinW = null;
    }
    this.emit("left", { roomId, reason });
  }

  clearSeat() {
    this.room = this.roomType = this.resumeToken = "";
    this.replica = null;
    this.tick = this.inputSeq = this.lastEventSeq = 0;
    this.pending = [];
    this.seq = this.ack = 0;
  }

  /** @param {unknown} data */
  onPong(data) {
    if (typeof data !== "number") return; // a heartbeat ping's answer
    const p = this.pings.get(data);
    if (!p) return;
    this.pings.delete(data);
    this.rtt = performance.now() - p.sent;
    p.resolve(this.rtt);
  }

  // ---- seats ----

  /**
   * @param {Uint8Array} msg
   * @returns {Promise<import("../index.js").JoinInfo>}
   */
  seat(msg) {
    if (this.joinW) return Promise.reject(new Error("tickroom: a join is already in progress"));
    if (!this.online) return Promise.reject(new Error(`tickroom: not connected (${this.connectionState})`));
    return new Promise((resolve, reject) => {
      this.joinW = { resolve, reject };
      this.write(msg);
    });
  }

  /**
   * Joins an open public room of roomType (or creates one), or the room
   * roomId. Resolves after the room's first frame was applied.
   * @param {string} roomType
   * @param {string} [roomId]
   */
  join(roomType, roomId) {
    return this.seat(codec.encodeJoin(roomType, roomId));
  }

  /**
   * Takes a seat reserved through matchmaking (docs/API.md).
   * @param {string} seatToken
   */
  joinSeat(seatToken) {
    return this.seat(codec.encodeJoinSeat(seatToken));
  }

  /**
   * Takes back a seat with a resume token kept from an earlier client
   * (PROTOCOL §9.1), as a new replica (last tick 0: a full snapshot).
   * @param {string} resumeToken
   */
  resume(resumeToken) {
    return this.seat(codec.encodeResume(resumeToken, 0, 0));
  }

  /**
   * Quick match: `POST /v1/matchmake/join-or-create`, then joins the
   * reserved seat, on the reservation's server (its ws_url: when it is not
   * this connection's, the client moves there first, see moveTo).
   * @param {string} mode
   * @param {Record<string, string>} [filters]
   */
  async quickJoin(mode, filters) {
    const r = await api.joinOrCreate(api.httpBase(this.url), this.token, mode, filters, { fetch: this.opts.fetch });
    if (r.ws_url) await this.moveTo(r.ws_url);
    return this.joinSeat(r.seat_token);
  }

  /**
   * A ticket queue: creates the ticket, waits for the `matched` push (or
   * finds the match by polling every pollInterval ms), then joins the
   * seat (on the room's server when the push or the reservation names
   * another one: see moveTo). Rejects when the ticket expires or is
   * cancelled, or on signal.
   * @param {{mode: string, rating?: number, region?: string, party?: string[]}} req
   * @param {{pollInterval?: number, signal?: AbortSignal}} [opts]
   */
  async ticketJoin(req, opts = {}) {
    const base = api.httpBase(this.url);
    const t = await api.createTicket(base, this.token, req, { fetch: this.opts.fetch });
    const m = await waitForMatch(this, base, t.ticket_id, opts);
    if (m.wsUrl) await this.moveTo(m.wsUrl);
    return this.joinSeat(m.seatToken);
  }

  /**
   * Leaves the room; resolves with the `left` reason.
   * @returns {Promise<string>}
   */
  leave() {
    if (!this.room) return Promise.reject(new Error("tickroom: not in a room"));
    if (this.leaveW) return Promise.reject(new Error("tickroom: leave already in progress"));
    return new Promise((resolve, reject) => {
      this.leaveW = { resolve, reject };
      this.leaving = true;
      if (!this.write(codec.encodeLeave())) {
        this.leaveW = null;
        this.leaving = false;
        reject(new Error("tickroom: offline"));
      }
    });
  }

  // ---- inputs and messages ----

  /**
   * Sends one input for the current seat and returns its seq (1, 2, 3…
   * per seat). While reconnecting the input waits in a small buffer (the
   * latest reconnect.inputs); after the resume the ones the server has
   * not applied are sent under these seqs. Throws when not seated.
   * @param {unknown} payload
   * @returns {number}
   */
  sendInput(payload) {
    if (!this.room || this.leaving) throw new Error("tickroom: not in a room");
    if (this.closing) throw new Error("tickroom: closed");
    const p = { seq: ++this.seq, payload, sent: false };
    this.pending.push(p);
    const cap = this.reconnect?.inputs ?? 8;
    while (this.pending.length > cap) {
      const old = this.pending.shift();
      if (old && !old.sent) this.stats.inputsDropped++;
    }
    if (this.hold || !this.writeInput(p)) this.stats.inputsBuffered++;
    return p.seq;
  }

  /** @param {{seq: number, payload: unknown, sent: boolean}} p */
  writeInput(p) {
    if (!this.write(codec.encodeInput(p.seq, p.payload, this.ack))) return false;
    p.sent = true;
    this.stats.inputsSent++;
    if (this.ack !== 0) this.fed = true;
    return true;
  }

  /**
   * Sends a direct message to player `to` (every live connection of it).
   * An offline player is reported through the "error" event
   * (player_offline).
   * @param {string} to
   * @param {unknown} payload
   */
  sendMsg(to, payload) {
    if (!this.write(codec.encodeMsg(to, payload))) throw new Error("tickroom: offline");
  }

  /** Asks for a full snapshot (`ack 0`), e.g. after a desync. */
  requestSnapshot() {
    this.ack = 0;
    this.fed = false;
    if (this.replica) this.replica.waitFull = true;
    if (!this.leaving && this.write(codec.encodeAck(0))) this.stats.acksSent++;
  }

  /**
   * An application ping; resolves with the round-trip time in ms.
   * @param {number} [timeout] ms, default 5000
   * @returns {Promise<number>}
   */
  ping(timeout = 5000) {
    const id = ++this.pingId;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pings.delete(id);
        reject(new Error("tickroom: ping timeout"));
      }, timeout);
      this.pings.set(id, {
        resolve: (/** @type {number} */ v) => (clearTimeout(t), resolve(v)),
        reject: (/** @type {Error} */ e) => (clearTimeout(t), reject(e)),
        sent: performance.now(),
      });
      if (!this.write(codec.encodePing(id))) {
        this.pings.get(id)?.reject(new Error("tickroom: offline"));
        this.pings.delete(id);
      }
    });
  }
}
