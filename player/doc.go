// Package player owns player identity and the player↔connection registry.
//
// Identity: a player is an [ID] (the `sub` claim of an HS256 JWT, see
// docs/PROTOCOL.md §1). [Tokens] mints and verifies those tokens; [TokenFromRequest]
// extracts one from an HTTP request before the WebSocket upgrade.
//
// Registry: a player's identity is not its socket. One player may have several
// live connections at once; a message addressed to a player reaches all of them,
// and a closed connection removes only that (player, connection) pair. [Registry]
// keeps that mapping and the persistent [Player] entity of every online or pinned
// player. The package knows nothing about rooms or the wire format: connections
// are seen only through the one-method [Conn] interface.
//
// Lock order: Registry shard mutex only; no other lock of this package is ever
// held with it, and no lock is held while calling [Conn.Deliver].
package player
