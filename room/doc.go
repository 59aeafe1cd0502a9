// Package room runs rooms: one goroutine per room owns a Game, applies the
// inputs queued since the last tick, steps the simulation on an absolute
// tick grid, captures the state into a snapshot history and sends each
// seated client one frame per tick — a delta against the tick that client
// last acknowledged, encoded once per distinct baseline and shared.
//
// Game code implements Game and never needs a lock. The Manager creates
// rooms on demand, routes joins and disposes of rooms left empty. Time
// comes from an injected clock, so tests step rooms deterministically.
//
// Faults stay inside their room. A panic in game code (or an invalid
// state from Sync) closes only that room, its players told `left` with
// reason `crashed`; a room whose ticks keep overrunning beyond its type's
// OverloadPolicy is closed with `overloaded`. Config.OnOverrun,
// Config.OnClosedByFault and Manager.Faults report both for metrics.
package room
