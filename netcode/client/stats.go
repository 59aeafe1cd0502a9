package client

import "sync/atomic"

// counters are a Client's statistics: written by the reader and the
// senders, read by Stats from any goroutine.
type counters struct {
	messages, bytes           atomic.Uint64
	frames, snapshots, deltas atomic.Uint64
	snapshotBytes, deltaBytes atomic.Uint64
	applied, desyncs, ignored atomic.Uint64
	events, errors, malformed atomic.Uint64
	unknown, matched          atomic.Uint64
	inputsSent, acksSent      atomic.Uint64

	disconnects, reconnectAttempts, resumes, resumeSnapshots atomic.Uint64
	unrecovered, duplicateEvents, redirects                  atomic.Uint64
	inputsBuffered, inputsDropped, inputsResent              atomic.Uint64
}

func (k *counters) load() Stats {
	return Stats{
		Messages:      k.messages.Load(),
		BytesReceived: k.bytes.Load(),
		Frames:        k.frames.Load(),
		Snapshots:     k.snapshots.Load(),
		Deltas:        k.deltas.Load(),
		SnapshotBytes: k.snapshotBytes.Load(),
		DeltaBytes:    k.deltaBytes.Load(),
		Applied:       k.applied.Load(),
		Desyncs:       k.desyncs.Load(),
		Ignored:       k.ignored.Load(),
		Events:        k.events.Load(),
		Matched:       k.matched.Load(),
		Errors:        k.errors.Load(),
		Malformed:     k.malformed.Load(),
		Unknown:       k.unknown.Load(),
		InputsSent:    k.inputsSent.Load(),
		AcksSent:      k.acksSent.Load(),

		Disconnects:       k.disconnects.Load(),
		ReconnectAttempts: k.reconnectAttempts.Load(),
		Resumes:           k.resumes.Load(),
		ResumeSnapshots:   k.resumeSnapshots.Load(),
		Unrecovered:       k.unrecovered.Load(),
		InputsBuffered:    k.inputsBuffered.Load(),
		InputsDropped:     k.inputsDropped.Load(),
		InputsResent:      k.inputsResent.Load(),
		DuplicateEvents:   k.duplicateEvents.Load(),
		Redirects:         k.redirects.Load(),
	}
}
