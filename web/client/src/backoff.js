// Reconnection policy (docs/PROTOCOL.md §7 close codes, §9.3 backoff).

/** Defaults of the reconnection policy (PROTOCOL §9.3). */
export const DefaultReconnectBase = 100; // ms
export const DefaultReconnectCap = 2000; // ms
export const DefaultReconnectWindow = 20000; // ms: the server's default grace window

/**
 * The wait before reconnection attempt `attempt` (1-based), full jitter:
 * 0 for the first, then uniformly random in
 * [0, min(cap, base·2^(attempt-1))] milliseconds.
 * @param {number} attempt
 * @param {{base?: number, cap?: number, random?: () => number}} [policy]
 *   random returns a uniform number in [0, 1) (default Math.random)
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, policy = {}) {
  if (attempt <= 1) return 0;
  const base = policy.base && policy.base > 0 ? policy.base : DefaultReconnectBase;
  const cap = policy.cap && policy.cap > 0 ? policy.cap : DefaultReconnectCap;
  const ceil = Math.min(cap, base * 2 ** Math.min(attempt - 1, 40));
  const r = (policy.random ?? Math.random)();
  return Math.floor(r * (ceil + 1));
}

/**
 * Whether a WebSocket close code from the server means "do not reconnect"
 * (PROTOCOL §7): 1000, 1002, 1003, 1007–1010 and 4500–4999. Every other
 * code (1001, 1005, 1006, 1011–1015, 4000–4499) is worth a reconnect.
 * @param {number} code
 */
export function isTerminalClose(code) {
  return code === 1000 || code === 1002 || code === 1003 || (code >= 1007 && code <= 1010) || (code >= 4500 && code <= 4999);
}
