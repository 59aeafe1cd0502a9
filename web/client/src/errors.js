// Errors of the client, and the token expiry check of its reconnection.

/** An `error` message from the server (PROTOCOL §7). */
export class ServerError extends Error {
  /** @param {string} code @param {string} message @param {number} ref */
  constructor(code, message, ref) {
    super(`${code}: ${message}`);
    this.name = "ServerError";
    this.code = code;
    this.ref = ref;
  }
}

/**
 * A `redirect` (PROTOCOL §3) answering an explicit join, joinSeat or
 * resume: the room runs on another server of the cluster. Connect to
 * wsUrl (same player token) and make the request there. Automatic resumes
 * follow redirects by themselves.
 */
export class RedirectError extends Error {
  /** @param {string} wsUrl @param {number} ref the redirected request's message type (1 join, 7 resume) */
  constructor(wsUrl, ref) {
    super(`tickroom: ${ref === 7 ? "resume" : "join"} redirected to ${wsUrl.replace(/\?.*$/, "")}`);
    this.name = "RedirectError";
    this.wsUrl = wsUrl;
    this.ref = ref;
  }
}

/** The connection ended (close code and reason), or the seat is gone. */
export class ConnectionError extends Error {
  /** @param {string} message @param {number} [code] @param {string} [reason] */
  constructor(message, code = 0, reason = "") {
    super(message);
    this.name = "ConnectionError";
    this.code = code;
    this.reason = reason;
  }
}

/**
 * The `exp` claim of a JWT in milliseconds, 0 if it cannot be read.
 * @param {string} token
 */
export function tokenExpiry(token) {
  try {
    const p = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(p + "=".repeat((4 - (p.length % 4)) % 4))).exp;
    return typeof exp === "number" ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}

