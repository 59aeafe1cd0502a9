// Message codec (docs/PROTOCOL.md §2, §3) on @msgpack/msgpack.
import { Decoder, Encoder } from "@msgpack/msgpack";

/** Client → server message types (PROTOCOL §2). */
export const MsgJoin = 1;
export const MsgInput = 2;
export const MsgAck = 3;
export const MsgLeave = 4;
export const MsgMsg = 5;
export const MsgPing = 6;
export const MsgResume = 7;

/** Server → client message types (PROTOCOL §3). */
export const MsgWelcome = 101;
export const MsgJoined = 102;
export const MsgFrame = 103;
export const MsgError = 104;
export const MsgDirect = 105;
export const MsgLeft = 106;
export const MsgPong = 107;
export const MsgResumed = 108;
export const MsgMatched = 109;
export const MsgRedirect = 110;

/** The largest client message the server accepts (PROTOCOL §8). */
export const MaxClientMessage = 16 << 10;

const encoder = new Encoder({ ignoreUndefined: true });
// int64/uint64 encodings decode as bigint, so that int fields and their
// deltas are exact (PROTOCOL §5.1); toPlain turns payloads back into
// numbers where that is exact.
const decoder = new Decoder({ useBigInt64: true });

/**
 * Encodes one client message.
 * @param {unknown[]} msg
 * @returns {Uint8Array}
 */
export function encode(msg) {
  return encoder.encode(msg);
}

/** @param {string} roomType @param {string} [roomId] */
export const encodeJoin = (roomType, roomId = "") =>
  encode(roomId ? [MsgJoin, roomType, roomId] : [MsgJoin, roomType]);
/** @param {string} seatToken */
export const encodeJoinSeat = (seatToken) => encode([MsgJoin, "", "", seatToken]);
/** @param {number} seq @param {unknown} payload @param {number} [ack] */
export const encodeInput = (seq, payload, ack = 0) =>
  encode(ack > 0 ? [MsgInput, seq, payload ?? null, ack] : [MsgInput, seq, payload ?? null]);
/** @param {number} tick */
export const encodeAck = (tick) => encode([MsgAck, tick]);
export const encodeLeave = () => encode([MsgLeave]);
/** @param {string} to @param {unknown} payload */
export const encodeMsg = (to, payload) => encode([MsgMsg, to, payload ?? null]);
/** @param {unknown} [data] */
export const encodePing = (data) => encode(data === undefined ? [MsgPing] : [MsgPing, data]);
/** @param {string} token @param {number} lastTick @param {number} lastEventSeq */
export const encodeResume = (token, lastTick, lastEventSeq) => encode([MsgResume, token, lastTick, lastEventSeq]);

/** A server message that does not have the shape of PROTOCOL §3. */
export class ProtocolError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "ProtocolError";
  }
}

/**
 * Converts bigints that are safe integers to numbers, recursively (for
 * game payloads, which a caller expects as plain values).
 * @param {unknown} v
 * @returns {unknown}
 */
export function toPlain(v) {
  if (typeof v === "bigint") return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Uint8Array) return v;
  if (v !== null && typeof v === "object") {
    /** @type {Record<string, unknown>} */
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = toPlain(x);
    return o;
  }
  return v;
}

/**
 * @param {unknown} v
 * @param {string} what
 * @returns {number}
 */
function uint(v, what) {
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === "bigint" && v >= 0n && v <= 9007199254740991n) return Number(v);
  throw new ProtocolError(`${what} must be a uint`);
}

/**
 * @param {unknown} v
 * @param {string} what
 * @returns {string}
 */
function str(v, what) {
  if (typeof v !== "string") throw new ProtocolError(`${what} must be a str`);
  return v;
}

/**
 * @param {unknown} v
 * @param {string} what
 * @returns {unknown[]}
 */
function arr(v, what) {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ProtocolError(`${what} must be an array`);
  return v;
}

/**
 * A decoded server message: `type` and the named fields of its kind
 * (PROTOCOL §3). Unknown types decode as `{type}` only (skip them).
 * @typedef {import("../index.js").ServerMessage} ServerMessage
 */

/**
 * Decodes one server message. Extra trailing fields are ignored (later
 * protocol versions may add some). Throws a ProtocolError on a malformed
 * message.
 * @param {Uint8Array | ArrayBuffer} bytes
 * @returns {ServerMessage}
 */
export function decodeServer(bytes) {
  let v;
  try {
    v = decoder.decode(bytes);
  } catch (e) {
    throw new ProtocolError(`not msgpack: ${/** @type {Error} */ (e).message}`);
  }
  if (!Array.isArray(v) || v.length === 0) throw new ProtocolError("message must be a non-empty array");
  const type = uint(v[0], "type");
  /** @param {number} n */
  const need = (n) => {
    if (v.length < n) throw new ProtocolError(`message ${type} has ${v.length} fields, want ${n}`);
  };
  switch (type) {
    case MsgWelcome:
      need(4);
      return { type, playerId: str(v[1], "player_id"), name: str(v[2], "name"), protocol: uint(v[3], "protocol") };
    case MsgJoined:
    case MsgResumed:
      need(type === MsgJoined ? 7 : 8);
      return {
        type,
        roomId: str(v[1], "room_id"),
        roomType: str(v[2], "room_type"),
        tickRate: uint(v[3], "tick_rate"),
        schema: v[4],
        history: uint(v[5], "history"),
        resumeToken: str(v[6], "resume_token"),
        recovered: type === MsgResumed ? v[7] === true : true,
      };
    case MsgFrame: {
      need(6);
      const events = arr(v[8], "events").map((e) => {
        if (!Array.isArray(e) || e.length < 3) throw new ProtocolError("event must be [seq, name, payload]");
        return { seq: uint(e[0], "event seq"), name: str(e[1], "event name"), payload: toPlain(e[2]) };
      });
      return {
        type,
        tick: uint(v[1], "tick"),
        age: uint(v[2], "age"),
        inputSeq: uint(v[3], "input_seq"),
        checksum: uint(v[4], "checksum") >>> 0,
        changes: arr(v[5], "changes"),
        created: arr(v[6], "created"),
        removed: arr(v[7], "removed"),
        events,
      };
    }
    case MsgError:
      need(4);
      return { type, code: str(v[1], "code"), message: str(v[2], "message"), ref: uint(v[3], "ref") };
    case MsgDirect:
      need(3);
      return { type, from: str(v[1], "from"), payload: toPlain(v[2]) };
    case MsgLeft:
      need(3);
      return { type, roomId: str(v[1], "room_id"), reason: str(v[2], "reason") };
    case MsgPong:
      need(2);
      return { type, data: toPlain(v[1]) };
    case MsgMatched:
      need(6);
      return {
        type,
        ticketId: str(v[1], "ticket_id"),
        mode: str(v[2], "mode"),
        roomId: str(v[3], "room_id"),
        seatToken: str(v[4], "seat_token"),
        expiresAt: uint(v[5], "expires_at"),
        // Present only when the room runs on another server of a cluster.
        wsUrl: v.length > 6 && v[6] !== null ? str(v[6], "ws_url") : "",
      };
    case MsgRedirect:
      need(3);
      return { type, wsUrl: str(v[1], "ws_url"), ref: uint(v[2], "ref") };
    default:
      return { type };
  }
}
