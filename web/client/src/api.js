// The HTTP endpoints a client uses (docs/API.md): guest auth and matchmaking.

/** An HTTP API error: the status and the JSON error body's code and message. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {number} [retryAfter] seconds, from Retry-After
   */
  constructor(status, code, message, retryAfter) {
    super(`${status} ${code}: ${message}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/**
 * The HTTP base URL of a server URL given as http(s)://host, ws(s)://host
 * or ws(s)://host/ws.
 * @param {string} url
 */
export function httpBase(url) {
  const u = new URL(url, globalThis.location?.href);
  if (u.protocol === "ws:") u.protocol = "http:";
  if (u.protocol === "wss:") u.protocol = "https:";
  u.pathname = u.pathname.replace(/\/ws\/?$/, "/").replace(/\/+$/, "");
  u.search = "";
  u.hash = "";
  return u.toString().replace(/\/+$/, "");
}

/**
 * The WebSocket URL (…/ws) of a server URL.
 * @param {string} url
 */
export function wsURL(url) {
  const u = new URL(httpBase(url) + "/ws");
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}

/**
 * @param {string} method
 * @param {string} base
 * @param {string} path
 * @param {string | null} token
 * @param {unknown} [body]
 * @param {{idempotencyKey?: string, fetch?: typeof fetch, signal?: AbortSignal}} [opts]
 */
async function call(method, base, path, token, body, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
  const f = opts.fetch ?? globalThis.fetch;
  const resp = await f(httpBase(base) + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: opts.signal,
  });
  const text = await resp.text();
  /** @type {any} */
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!resp.ok) {
    const ra = Number(resp.headers.get("Retry-After"));
    throw new ApiError(resp.status, json?.code ?? "http_error", json?.message ?? text.trim(), Number.isFinite(ra) && ra > 0 ? ra : undefined);
  }
  return json;
}

/**
 * `POST /v1/auth/guest`: a new guest player and its token.
 * @param {string} base
 * @param {string} [name]
 * @param {{fetch?: typeof fetch, signal?: AbortSignal}} [opts]
 * @returns {Promise<{token: string, player_id: string}>}
 */
export const guestAuth = (base, name, opts) => call("POST", base, "/v1/auth/guest", null, name ? { name } : {}, opts);

/**
 * `POST /v1/matchmake/join-or-create`: a seat reservation in an open room of `mode`.
 * @param {string} base @param {string} token @param {string} mode
 * @param {Record<string, string>} [filters]
 * @param {{idempotencyKey?: string, fetch?: typeof fetch, signal?: AbortSignal}} [opts]
 * @returns {Promise<import("../index.js").Reservation>}
 */
export const joinOrCreate = (base, token, mode, filters, opts) =>
  call("POST", base, "/v1/matchmake/join-or-create", token, filters ? { mode, filters } : { mode }, opts);

/**
 * `POST /v1/matchmake/create`: a reservation in a new room.
 * @param {string} base @param {string} token
 * @param {{mode: string, private?: boolean, metadata?: Record<string, string>}} req
 * @param {{idempotencyKey?: string, fetch?: typeof fetch, signal?: AbortSignal}} [opts]
 * @returns {Promise<import("../index.js").Reservation>}
 */
export const createRoom = (base, token, req, opts) => call("POST", base, "/v1/matchmake/create", token, req, opts);

/**
 * `POST /v1/matchmake/join`: a reservation in a room by id or join code.
 * @param {string} base @param {string} token
 * @param {{room_id?: string, code?: string}} req
 * @param {{idempotencyKey?: string, fetch?: typeof fetch, signal?: AbortSignal}} [opts]
 * @returns {Promise<import("../index.js").Reservation>}
 */
export const joinRoom = (base, token, req, opts) => call("POST", base, "/v1/matchmake/join", token, req, opts);

/**
 * `GET /v1/rooms?mode=`: the public rooms.
 * @param {string} base @param {string} token @param {string} [mode]
 * @param {{fetch?: typeof fetch, signal?: AbortSignal}} [opts]
 * @returns {Promise<{room_id: string, mode: string, players: number, capacity: number, locked: boolean, metadata: Record<string, string>}[]>}
 */
export const listRooms = async (base, token, mode, opts) =>
  (await call("GET", base, "/v1/rooms" + (mode ? `?mode=${encodeURIComponent(mode)}` : ""), token, undefined, opts)).rooms;

/**
 * `POST /v1/matchmaking/tickets`: queue for a match.
 * @param {string} base @param {string} token
 * @param {{mode: string, rating?: number, region?: string, party?: string[]}} req
 * @param {{idempotencyKey?: string, fetch?: typeof fetch, signal?: AbortSignal}} [opts]
 * @returns {Promise<import("../index.js").Ticket>}
 */
export const createTicket = (base, token, req, opts) => call("POST", base, "/v1/matchmaking/tickets", token, req, opts);

/**
 * `GET /v1/matchmaking/tickets/{id}`.
 * @param {string} base @param {string} token @param {string} id
 * @param {{fetch?: typeof fetch, signal?: AbortSignal}} [opts]
 * @returns {Promise<import("../index.js").Ticket>}
 */
export const getTicket = (base, token, id, opts) =>
  call("GET", base, `/v1/matchmaking/tickets/${encodeURIComponent(id)}`, token, undefined, opts);

/**
 * `DELETE /v1/matchmaking/tickets/{id}`.
 * @param {string} base @param {string} token @param {string} id
 * @param {{fetch?: typeof fetch, signal?: AbortSignal}} [opts]
 * @returns {Promise<import("../index.js").Ticket>}
 */
export const cancelTicket = (base, token, id, opts) =>
  call("DELETE", base, `/v1/matchmaking/tickets/${encodeURIComponent(id)}`, token, undefined, opts);
