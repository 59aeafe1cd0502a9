// Waiting for a matchmaking ticket's match (docs/API.md ticket queues).
import * as api from "./api.js";

/**
 * Resolves with the seat token of ticket ticketId, and the WebSocket URL of
 * the server to take it on, once it is matched: from
 * the `matched` push on client's connection, or by polling the ticket every
 * opts.pollInterval ms (default 1000) — whichever comes first. Rejects when
 * the ticket expires or is cancelled, or on opts.signal (which also
 * cancels the ticket). wsUrl is the push's ws_url ("" when the room runs on
 * the server that pushed it) or the polled reservation's ws_url.
 * @param {import("./client.js").Client} client
 * @param {string} base the server's HTTP base URL
 * @param {string} ticketId
 * @param {{pollInterval?: number, signal?: AbortSignal}} opts
 * @returns {Promise<{seatToken: string, wsUrl: string}>}
 */
export function waitForMatch(client, base, ticketId, opts) {
  return new Promise((resolve, reject) => {
    let done = false;
    /** @type {any} */
    let timer = null;
    const finish = (/** @type {any} */ err, /** @type {string} */ seatToken = "", /** @type {string} */ wsUrl = "") => {
      if (done) return;
      done = true;
      off();
      clearTimeout(timer);
      if (err) reject(err);
      else resolve({ seatToken, wsUrl });
    };
    const off = client.on("matched", (/** @type {any} */ m) => {
      if (m.ticketId === ticketId) finish(null, m.seatToken, m.wsUrl ?? "");
    });
    opts.signal?.addEventListener("abort", () => {
      api.cancelTicket(base, client.token, ticketId, { fetch: client.opts.fetch }).catch(() => {});
      finish(opts.signal?.reason ?? new Error("aborted"));
    });
    const poll = async () => {
      try {
        const s = await api.getTicket(base, client.token, ticketId, { fetch: client.opts.fetch });
        if (s.status === "matched" && s.reservation) return finish(null, s.reservation.seat_token, s.reservation.ws_url ?? "");
        if (s.status !== "queued") return finish(new Error(`tickroom: ticket ${s.status}`));
      } catch (e) {
        if (/** @type {any} */ (e).status === 404) return finish(e);
      }
      if (!done) timer = setTimeout(poll, opts.pollInterval ?? 1000);
    };
    timer = setTimeout(poll, opts.pollInterval ?? 1000);
  });
}
