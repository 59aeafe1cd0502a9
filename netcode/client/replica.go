package client

import (
	"errors"
	"fmt"

	"github.com/tickroom/tickroom/netcode"
)

// replica holds the recent states of the room, the possible baselines of
// the next deltas (PROTOCOL §5): a small ring of snapshots keyed by tick.
// Every applied state is kept until a delta arrives whose base is newer,
// because acks only move forward and the server builds each delta against
// the latest tick it saw acknowledged (a full frame does not retire
// anything: acks sent before it may still arrive and become bases). When the ring is full, the oldest
// state that is neither the latest nor the current base is reused.
//
// The replica is owned by the reader goroutine. Only the latest state is
// shared (published through Client.latest under Client.mu), and the reader
// never writes into it: a frame is applied into another slot.
type replica struct {
	schema   *netcode.Schema
	slots    []*netcode.Snapshot
	valid    []bool // slots[i] holds an applied state
	latest   int    // index of the latest applied state, -1 if none
	waitFull bool   // after a desync: skip deltas until a full frame
	skipped  int    // deltas skipped since the snapshot request
}

func newReplica(n int) *replica {
	return &replica{slots: make([]*netcode.Snapshot, n), valid: make([]bool, n), latest: -1}
}

// maxHistory caps how many states a server can make the replica keep.
const maxHistory = 1024

// ensure makes room for n states (the room's history, from `joined`), so
// that every baseline the server may use is still held. It only grows.
func (r *replica) ensure(n int) {
	if n <= len(r.slots) {
		return
	}
	r.slots = append(r.slots, make([]*netcode.Snapshot, n-len(r.slots))...)
	r.valid = append(r.valid, make([]bool, n-len(r.valid))...)
	r.schema = nil // reset allocates the new slots' storage
}

// reset forgets every state; the next frame must be a full one. A new
// schema (a new room) replaces the snapshots' storage.
func (r *replica) reset(schema *netcode.Schema) {
	if schema != nil && schema != r.schema {
		r.schema = schema
		for i := range r.slots {
			r.slots[i] = netcode.NewSnapshot(schema)
		}
	}
	clear(r.valid)
	r.latest = -1
	r.waitFull = false
	r.skipped = 0
}

// lastTick is the tick of the newest state to resume from (PROTOCOL
// resume last_tick): 0 when there is none or it is not trusted (a desync is
// pending), which asks the server for a full snapshot.
func (r *replica) lastTick() uint64 {
	if r.latest < 0 || r.waitFull || !r.valid[r.latest] {
		return 0
	}
	return r.slots[r.latest].Tick()
}

// errSkipped is returned by apply for a delta ignored while a snapshot is
// awaited.
var errSkipped = errors.New("client: waiting for a full snapshot")

// desync is a frame that could not be turned into the server's state.
type desync struct{ reason string }

func (d *desync) Error() string { return "client: desync: " + d.reason }

// apply brings the replica to the frame in m. It returns the new latest
// snapshot, errSkipped, or a *desync (the replica then waits for a full
// frame; the latest state stays as it was).
func (r *replica) apply(m *netcode.ServerMessage) (*netcode.Snapshot, error) {
	if r.schema == nil {
		return nil, &desync{"frame before joined"}
	}
	if m.Age > m.Tick {
		return nil, r.fail(fmt.Sprintf("frame of tick %d has age %d", m.Tick, m.Age))
	}
	baseIdx := -1
	if m.Age != 0 {
		if r.waitFull {
			r.skipped++
			return nil, errSkipped
		}
		bt := m.Tick - m.Age
		for i, ok := range r.valid {
			if ok && r.slots[i].Tick() == bt {
				baseIdx = i
				break
			}
		}
		if baseIdx < 0 {
			return nil, r.fail(fmt.Sprintf("tick %d: base tick %d is not held", m.Tick, bt))
		}
	}

	dst := r.free(baseIdx)
	var base *netcode.Snapshot
	if baseIdx >= 0 {
		base = r.slots[baseIdx]
	}
	if err := netcode.ApplyDelta(r.slots[dst], base, m.Tick, m.Changes, m.Created, m.Removed); err != nil {
		r.valid[dst] = false
		return nil, r.fail(fmt.Sprintf("tick %d: %v", m.Tick, err))
	}
	if got := r.slots[dst].Checksum(); got != m.Checksum {
		r.valid[dst] = false
		return nil, r.fail(fmt.Sprintf("tick %d: checksum %#08x, server %#08x", m.Tick, got, m.Checksum))
	}

	// States older than this frame's base are never used again. A full
	// frame says nothing about that: the server sends one while it has no
	// ack yet, and an ack already on its way may name an older state.
	if baseIdx >= 0 {
		bt := r.slots[baseIdx].Tick()
		for i, ok := range r.valid {
			if ok && r.slots[i].Tick() < bt {
				r.valid[i] = false
			}
		}
	}
	r.valid[dst] = true
	r.latest = dst
	r.waitFull = false
	r.skipped = 0
	return r.slots[dst], nil
}

// awaitFull makes the replica skip deltas until a full frame (a snapshot
// was requested).
func (r *replica) awaitFull() {
	r.waitFull = true
	r.skipped = 0
}

// fail records a desync: deltas are skipped until a full frame.
func (r *replica) fail(reason string) error {
	r.waitFull = true
	r.skipped = 0
	return &desync{reason}
}

// free returns a slot to apply into: an unused one, else the oldest state
// that is neither the latest nor the base.
func (r *replica) free(baseIdx int) int {
	pick := -1
	for i, ok := range r.valid {
		if i == r.latest || i == baseIdx {
			continue
		}
		if !ok {
			return i
		}
		if pick < 0 || r.slots[i].Tick() < r.slots[pick].Tick() {
			pick = i
		}
	}
	r.valid[pick] = false
	return pick
}
