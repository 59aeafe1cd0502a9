// Package netcode owns tickroom's wire format: the message codec, the
// validation of untrusted client bytes, the entity state model, and delta
// encoding (server) and application (client). docs/PROTOCOL.md is the
// normative description; this package implements it.
//
// netcode imports neither room nor player: it knows bytes, snapshots and
// deltas, not who sends them.
package netcode
