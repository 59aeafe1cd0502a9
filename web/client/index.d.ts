// Type declarations of @tickroom/client. The wire protocol is docs/PROTOCOL.md.

/** Connection states, in the order a session usually goes through them. */
export type ConnectionState =
  | "idle" // created, connect not called
  | "connecting" // the first connection is being opened, or moveTo is opening one on another server
  | "connected" // welcomed; seated or not
  | "reconnecting" // the connection was lost: dialing again with backoff (PROTOCOL §9.3)
  | "resuming" // reconnected: resume sent, waiting for the seat and a frame
  | "lost" // gave up: a terminal close code (§7), the seat is gone, or the reconnect window ran out
  | "closed"; // close() was called, or the first connection failed

export interface ReconnectOptions {
  /** Backoff base in ms (default 100): attempt n ≥ 2 waits up to min(cap, base·2^(n-1)). */
  base?: number;
  /** Backoff cap in ms (default 2000). */
  cap?: number;
  /** How long to keep trying after the connection was lost, in ms (default 20000, the server's grace window). */
  window?: number;
  /** Inputs kept while offline, the latest ones (default 8). */
  inputs?: number;
  /** Uniform random number in [0, 1) (default Math.random). */
  random?: () => number;
}

export interface ClientOptions {
  /** Server URL: http(s)://host[:port] (or ws(s)://host/ws). */
  url: string;
  /** A player token. Without one, connect() gets a guest token (POST /v1/auth/guest) with `name`. */
  token?: string;
  /** Display name of the guest player. */
  name?: string;
  /** How the token travels: "subprotocol" (default: Sec-WebSocket-Protocol "tickroom.v1, bearer.<token>") or "query" (?access_token=). */
  tokenIn?: "subprotocol" | "query";
  /** Automatic reconnection and resume; false turns it off. */
  reconnect?: ReconnectOptions | false;
  /** A connection from which nothing arrives for this long (ms) is dead (default 15000). */
  readTimeout?: number;
  /** Application pings keep an idle connection's answers flowing (ms, default 5000). */
  pingInterval?: number;
  /** WebSocket implementation (default globalThis.WebSocket). */
  WebSocket?: typeof WebSocket;
  /** fetch implementation for the HTTP API (default globalThis.fetch). */
  fetch?: typeof fetch;
}

/** An int field is a number, or a bigint outside ±(2^53-1); a float a number; a string a string. */
export type Value = number | bigint | string;

export interface Entity {
  readonly id: number;
  readonly kind: number;
  readonly values: readonly Value[];
}

export class Schema {
  constructor(raw: unknown);
  readonly kinds: { name: string; fields: { name: string; type: 1 | 2 | 3 }[] }[];
  readonly maskWidth: number;
  kindIndex(name: string): number;
  fieldIndex(kind: number, name: string): number;
}

/** The room's state at one tick: frozen entities in ascending id. */
export class State {
  readonly schema: Schema;
  readonly tick: number;
  readonly entities: readonly Entity[];
  /** The PROTOCOL §5.3 checksum (uint32). */
  readonly checksum: number;
  get(id: number): Entity | undefined;
  /** Entities as objects keyed by field name, plus id and kind (the kind's name). */
  objects(kind?: string): Record<string, unknown>[];
}

export class DesyncError extends Error {}

/** Applies a delta (PROTOCOL §5.1) to base (null: empty) without modifying it. */
export function applyDelta(schema: Schema, base: State | null, tick: number, changes: unknown, created?: unknown, removed?: unknown): State;
export function checksum(schema: Schema, entities: readonly Entity[]): number;

/** The states kept as delta baselines (PROTOCOL §5). */
export class Replica {
  constructor(schema: Schema, history?: number);
  readonly schema: Schema;
  readonly latest: State | null;
  waitFull: boolean;
  apply(frame: { tick: number; age: number; checksum: number; changes: unknown; created?: unknown; removed?: unknown }): State;
  lastTick(): number;
}

export const FieldInt: 1;
export const FieldFloat: 2;
export const FieldString: 3;

export const DefaultReconnectBase: number;
export const DefaultReconnectCap: number;
export const DefaultReconnectWindow: number;
/** Full-jitter wait before attempt n (1-based), ms: 0, then uniform in [0, min(cap, base·2^(n-1))]. */
export function backoffDelay(attempt: number, policy?: { base?: number; cap?: number; random?: () => number }): number;
/** Whether a close code means "do not reconnect" (PROTOCOL §7). */
export function isTerminalClose(code: number): boolean;

export interface Reservation {
  room_id: string;
  mode: string;
  ws_url: string;
  seat_token: string;
  expires_at: string;
  code?: string;
}

export interface Ticket {
  ticket_id: string;
  mode: string;
  status: "queued" | "matched" | "expired" | "cancelled";
  players: string[];
  rating: number;
  region?: string;
  created_at: string;
  wait_ms: number;
  window: number;
  team?: number;
  reservation?: Reservation;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryAfter?: number;
}

type ReqOpts = { idempotencyKey?: string; fetch?: typeof fetch; signal?: AbortSignal };
export function httpBase(url: string): string;
export function wsURL(url: string): string;
export function guestAuth(base: string, name?: string, opts?: ReqOpts): Promise<{ token: string; player_id: string }>;
export function joinOrCreate(base: string, token: string, mode: string, filters?: Record<string, string>, opts?: ReqOpts): Promise<Reservation>;
export function createRoom(base: string, token: string, req: { mode: string; private?: boolean; metadata?: Record<string, string> }, opts?: ReqOpts): Promise<Reservation>;
export function joinRoom(base: string, token: string, req: { room_id?: string; code?: string }, opts?: ReqOpts): Promise<Reservation>;
export function listRooms(base: string, token: string, mode?: string, opts?: ReqOpts): Promise<{ room_id: string; mode: string; players: number; capacity: number; locked: boolean; metadata: Record<string, string> }[]>;
export function createTicket(base: string, token: string, req: { mode: string; rating?: number; region?: string; party?: string[] }, opts?: ReqOpts): Promise<Ticket>;
export function getTicket(base: string, token: string, id: string, opts?: ReqOpts): Promise<Ticket>;
export function cancelTicket(base: string, token: string, id: string, opts?: ReqOpts): Promise<Ticket>;

export interface JoinInfo {
  roomId: string;
  roomType: string;
  tickRate: number;
  schema: Schema;
  /** true for a seat taken with resume(). */
  resumed: boolean;
  /** The tick of the first frame. */
  tick: number;
}

export interface FrameInfo {
  room: string;
  tick: number;
  /** 0: a full snapshot. */
  age: number;
  /** The last input seq the server applied at or before tick. */
  inputSeq: number;
  /** Bytes of the frame message. */
  size: number;
  state: State;
}

export interface RoomEvent {
  room: string;
  seq: number;
  name: string;
  payload: unknown;
}

export interface ResumeInfo {
  /** The room whose seat was resumed; "" without a seat. */
  room: string;
  /** false when room events of the outage were lost. */
  recovered: boolean;
  attempts: number;
  /** ms from the first reconnection dial to the resynchronised replica. */
  duration: number;
  /** true when the replica was resynchronised by a full snapshot, false by a delta. */
  snapshot: boolean;
  /** Redirects followed to the server that holds the seat (a cluster, PROTOCOL §9.1); at most 3. */
  redirects: number;
}

export interface Stats {
  bytesReceived: number;
  messagesReceived: number;
  frames: number;
  snapshots: number;
  deltas: number;
  skipped: number;
  desyncs: number;
  events: number;
  duplicateEvents: number;
  inputsSent: number;
  inputsBuffered: number;
  inputsResent: number;
  inputsDropped: number;
  acksSent: number;
  errors: number;
  malformed: number;
  disconnects: number;
  reconnectAttempts: number;
  resumes: number;
  /** Automatic resumes sent on to the server that holds the seat (`redirect`, PROTOCOL §9.1). */
  redirects: number;
  unrecovered: number;
}

export class ServerError extends Error {
  readonly code: string;
  readonly ref: number;
}

/**
 * A `redirect` answering an explicit join, joinSeat or resume: the room runs
 * on another server of the cluster. Connect there (moveTo(wsUrl), same
 * player token) and make the request again. Automatic resumes follow
 * redirects by themselves.
 */
export class RedirectError extends Error {
  /** The server to connect to (ws:// or wss://). */
  readonly wsUrl: string;
  /** The redirected request's message type: 1 join, 7 resume. */
  readonly ref: number;
}

/** A `matched` push (PROTOCOL §3). */
export interface Matched {
  ticketId: string;
  mode: string;
  roomId: string;
  /** Single use, for this player only; never log it. */
  seatToken: string;
  /** Unix milliseconds. */
  expiresAt: number;
  /** Where the room runs when it is on another server of a cluster ("" : the server that pushed it): moveTo it, then joinSeat. */
  wsUrl: string;
}

export class ConnectionError extends Error {
  /** The WebSocket close code (0 when the seat was refused). */
  readonly code: number;
  /** The close reason, or the error code that ended the seat (resume_expired, resume_rejected, room_gone, …). */
  readonly reason: string;
}

export interface ClientEvents {
  state: (s: ConnectionState) => void;
  connected: (w: { playerId: string; name: string }) => void;
  disconnected: (err: ConnectionError) => void;
  reconnecting: (a: { attempt: number; delay: number }) => void;
  resumed: (info: ResumeInfo) => void;
  lost: (err: Error) => void;
  frame: (f: FrameInfo) => void;
  event: (e: RoomEvent) => void;
  message: (m: { from: string; payload: unknown }) => void;
  error: (e: ServerError) => void;
  left: (l: { roomId: string; reason: string }) => void;
  matched: (m: Matched) => void;
  desync: (e: DesyncError) => void;
  malformed: (e: Error) => void;
}

export class Client {
  constructor(opts: ClientOptions);
  readonly connectionState: ConnectionState;
  readonly playerId: string;
  readonly name: string;
  readonly token: string;
  readonly room: string;
  readonly roomType: string;
  readonly tickRate: number;
  /** The latest applied tick and the server's input_seq at it. */
  readonly tick: number;
  readonly inputSeq: number;
  readonly lastEventSeq: number;
  /** The latest applied state, null when not seated. */
  readonly state: State | null;
  readonly online: boolean;
  /** The last ping() round trip, ms. */
  readonly rtt: number;
  readonly stats: Stats;
  on<K extends keyof ClientEvents>(name: K, fn: ClientEvents[K]): () => void;
  connect(): Promise<{ playerId: string; name: string }>;
  /**
   * Changes where later connections dial (not the current one), e.g. to a load
   * balancer in front of a cluster: a reconnection that reaches a server that
   * does not hold the seat is redirected to the one that does. The HTTP API
   * keeps using ClientOptions.url.
   */
  setUrl(url: string): void;
  /**
   * Moves an unseated, connected client to the server at wsUrl (a
   * reservation's or matched push's ws_url): a new connection with the same
   * token there; later reconnections dial it too. Resolves at once when it
   * is the current connection's server. quickJoin and ticketJoin call it.
   */
  moveTo(wsUrl: string): Promise<void>;
  /**
   * join, joinSeat and resume resolve after the seat's first frame; they reject
   * with a ServerError, or a RedirectError when the room runs on another
   * server of a cluster (moveTo its wsUrl and call again).
   */
  join(roomType: string, roomId?: string): Promise<JoinInfo>;
  joinSeat(seatToken: string): Promise<JoinInfo>;
  resume(resumeToken: string): Promise<JoinInfo>;
  quickJoin(mode: string, filters?: Record<string, string>): Promise<JoinInfo>;
  ticketJoin(req: { mode: string; rating?: number; region?: string; party?: string[] }, opts?: { pollInterval?: number; signal?: AbortSignal }): Promise<JoinInfo>;
  leave(): Promise<string>;
  sendInput(payload: unknown): number;
  sendMsg(to: string, payload: unknown): void;
  requestSnapshot(): void;
  ping(timeout?: number): Promise<number>;
  /** Ends the socket at once as if the network failed; the client reconnects and resumes. */
  kill(code?: number, reason?: string): void;
  drop(): void;
  close(): void;
}

export interface ServerMessage {
  type: number;
  [field: string]: unknown;
}

export namespace codec {
  const MsgJoin: 1, MsgInput: 2, MsgAck: 3, MsgLeave: 4, MsgMsg: 5, MsgPing: 6, MsgResume: 7;
  const MsgWelcome: 101, MsgJoined: 102, MsgFrame: 103, MsgError: 104, MsgDirect: 105, MsgLeft: 106, MsgPong: 107, MsgResumed: 108, MsgMatched: 109, MsgRedirect: 110;
  const MaxClientMessage: number;
  function encode(msg: unknown[]): Uint8Array;
  function encodeJoin(roomType: string, roomId?: string): Uint8Array;
  function encodeJoinSeat(seatToken: string): Uint8Array;
  function encodeInput(seq: number, payload: unknown, ack?: number): Uint8Array;
  function encodeAck(tick: number): Uint8Array;
  function encodeLeave(): Uint8Array;
  function encodeMsg(to: string, payload: unknown): Uint8Array;
  function encodePing(data?: unknown): Uint8Array;
  function encodeResume(token: string, lastTick: number, lastEventSeq: number): Uint8Array;
  function decodeServer(bytes: Uint8Array | ArrayBuffer): ServerMessage;
  function toPlain(v: unknown): unknown;
  class ProtocolError extends Error {}
}
