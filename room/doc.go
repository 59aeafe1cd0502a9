// Package room runs rooms: one goroutine per room owns a Game, applies the
// inputs queued since the last tick, steps the simulation on an absolute
// tick grid, captures the state into a snapshot history and sends each
// seated client one frame per tick — a delta against the tick that client
// last acknowledged, encoded once per distinct baseline and shared.
//
// Game code implements Game and never needs a lock. The Manager creates
// rooms on demand, routes joins and disposes of rooms left empty. Time
// comes from an injected clock, so tests step rooms deterministically.
package room
