// @tickroom/client: the JavaScript client SDK of tickroom (docs/PROTOCOL.md).
export { Client, ServerError, ConnectionError, RedirectError } from "./client.js";
export { Schema, State, Replica, DesyncError, applyDelta, checksum, FieldInt, FieldFloat, FieldString } from "./replica.js";
export { backoffDelay, isTerminalClose, DefaultReconnectBase, DefaultReconnectCap, DefaultReconnectWindow } from "./backoff.js";
export {
  ApiError,
  httpBase,
  wsURL,
  guestAuth,
  joinOrCreate,
  createRoom,
  joinRoom,
  listRooms,
  createTicket,
  getTicket,
  cancelTicket,
} from "./api.js";
export * as codec from "./codec.js";
