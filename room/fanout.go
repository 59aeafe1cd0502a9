package room

import "github.com/tickroom/tickroom/netcode"

// fanout builds each seated client's frame for a tick. Clients are grouped
// by baseline (the tick they last acknowledged); each group's delta is
// encoded once and its bytes are shared by every frame of the group. The
// tick's events are encoded once too, for every client that is up to date.
// Only the few-byte frame head is per client. Frames go to the clients'
// outboxes without blocking; a full outbox skips the client for this tick.
//
// fanout is owned by the room goroutine.
type fanout struct {
	head    *netcode.Buffer // scratch for frame heads
	groups  []group
	evs     []netcode.Event // scratch for event encoding
	fr      netcode.Frame   // the frame being offered; Conn.SendFrame copies it
	prevSeq uint64          // last event seq included in a previous fan-out
}

type group struct {
	base  uint64 // baseline tick; 0 for a full snapshot
	delta *netcode.Shared
	nd    int // msgpack values in delta: 1 (changes) or 3 (+created, removed)
}

func (f *fanout) init() {
	f.head = netcode.NewBuffer(netcode.MaxFrameHead)
}

// send sends the frame of r.tick to every seated, connected client.
func (f *fanout) send(r *Room) {
	cur := r.history[r.tick%uint64(len(r.history))]
	var sent, dropped uint64

	// The events emitted since the last fan-out, and whether they all go to
	// everyone (then one encoding serves every up-to-date client).
	fresh := r.fresh
	shareable := true
	for i := range fresh {
		if fresh[i].to != nil {
			shareable = false
			break
		}
	}
	var common *netcode.Shared

	for _, s := range r.seats {
		if s.conn == nil {
			continue
		}
		var base *netcode.Snapshot
		if ack := s.ack.load(); ack != 0 {
			base = r.snapshot(ack)
		}
		g := f.group(base, cur)

		var ev *netcode.Shared
		if s.evSeq < r.evSeq {
			if s.evSeq == f.prevSeq && shareable {
				if common == nil {
					common = f.encodeEvents(fresh, nil)
				}
				ev = common
				ev.Retain()
			} else {
				evs, _ := s.events.after(s.evSeq)
				ev = f.encodeEvents(evs, nil)
			}
		}

		fr := &f.fr
		*fr = netcode.Frame{}
		fr.Delta = g.delta
		g.delta.Retain()
		fr.Events = ev
		age := uint64(0)
		if base != nil {
			age = r.tick - base.Tick()
		}
		f.setHead(fr, g.nd, ev != nil, r.tick, age, s.lastSeq, cur.Checksum())
		if s.conn.SendFrame(fr) {
			s.evSeq = r.evSeq
			sent++
		} else {
			fr.Release()
			dropped++
		}
	}

	if common != nil {
		common.Release()
	}
	for i := range f.groups {
		f.groups[i].delta.Release()
		f.groups[i] = group{}
	}
	f.groups = f.groups[:0]
	f.prevSeq = r.evSeq
	clear(r.fresh)
	r.fresh = r.fresh[:0]
	r.stats.framesSent.Add(sent)
	r.stats.framesDropped.Add(dropped)
}

// sendFull sends seat s a full snapshot of the latest tick, at once.
func (f *fanout) sendFull(r *Room, s *Seat) {
	cur := r.history[r.tick%uint64(len(r.history))]
	var fr netcode.Frame
	fr.Delta = netcode.NewShared()
	nd := netcode.EncodeDelta(fr.Delta.Buf(), nil, cur)
	f.setHead(&fr, nd, false, r.tick, 0, s.lastSeq, cur.Checksum())
	if s.conn.SendFrame(&fr) {
		r.stats.framesSent.Add(1)
	} else {
		fr.Release()
		r.stats.framesDropped.Add(1)
	}
}

// sendResync sends a resumed seat, at once, a delta from the tick it last
// applied (its ack, set by the resume) if that is still in the history,
// else a full snapshot, with the events it missed.
func (f *fanout) sendResync(r *Room, s *Seat, evs []*event) bool {
	cur := r.history[r.tick%uint64(len(r.history))]
	var base *netcode.Snapshot
	// A client already at the current tick (it reconnected within the
	// tick) still gets a frame at once, for the events it missed; a delta
	// of age 0 cannot be expressed (age 0 means "full"), so it gets a
	// snapshot.
	if ack := s.ack.load(); ack != 0 && ack != r.tick {
		base = r.snapshot(ack)
	}
	var fr netcode.Frame
	fr.Delta = netcode.NewShared()
	nd := netcode.EncodeDelta(fr.Delta.Buf(), base, cur)
	fr.Events = f.encodeEvents(evs, nil)
	age := uint64(0)
	if base != nil {
		age = r.tick - base.Tick()
	}
	f.setHead(&fr, nd, fr.Events != nil, r.tick, age, s.lastSeq, cur.Checksum())
	if !s.conn.SendFrame(&fr) {
		fr.Release()
		r.stats.framesDropped.Add(1)
		return false
	}
	r.stats.framesSent.Add(1)
	return true
}

// group returns the group for base, encoding its delta on first use.
func (f *fanout) group(base, cur *netcode.Snapshot) *group {
	var key uint64 // acks are never 0, so 0 can stand for "no baseline"
	if base != nil {
		key = base.Tick()
	}
	for i := range f.groups {
		if f.groups[i].base == key {
			return &f.groups[i]
		}
	}
	d := netcode.NewShared()
	nd := netcode.EncodeDelta(d.Buf(), base, cur)
	f.groups = append(f.groups, group{base: key, delta: d, nd: nd})
	return &f.groups[len(f.groups)-1]
}

// setHead writes the frame head: [103, tick, age, input_seq, checksum,
// changes, created?, removed?, events?]. When events follow a delta without
// created/removed, two empty arrays stand in for them.
func (f *fanout) setHead(fr *netcode.Frame, nd int, events bool, tick, age, seq uint64, sum uint32) {
	fields := 5 + nd
	if events {
		if nd == 1 {
			fr.SetPad(2)
			fields += 2
		}
		fields++
	}
	f.head.Reset()
	netcode.AppendFrameHead(f.head, fields, tick, age, seq, sum)
	fr.SetHead(f.head.B)
}

// encodeEvents encodes evs (those addressed to s only, if s is not nil)
// and returns them shared, or nil if there are none.
func (f *fanout) encodeEvents(evs []*event, s *Seat) *netcode.Shared {
	f.evs = f.evs[:0]
	for _, e := range evs {
		if s == nil || e.to == nil || e.to == s {
			f.evs = append(f.evs, netcode.Event{Seq: e.seq, Name: e.name, Payload: e.payload})
		}
	}
	if len(f.evs) == 0 {
		return nil
	}
	sh := netcode.NewShared()
	netcode.AppendEvents(sh.Buf(), f.evs)
	clear(f.evs)
	return sh
}
