package room

import (
	"sort"
	"time"

	"github.com/tickroom/tickroom/player"
)

// Seat is one player's place in a room. The room goroutine owns it; game
// code may read its exported fields and keep the pointer as a map key for
// as long as the seat exists (until Leave returns).
//
// A seat outlives its connections: when a connection ends without a
// consented leave the seat stays, disconnected, for the type's grace
// window, and a resume binds it to a new connection.
type Seat struct {
	Player player.ID
	Name   string

	room    *Room
	conn    Conn // nil while disconnected
	inputs  inputQueue
	ack     ackCell // last tick the client acknowledged (written by readers)
	lastSeq uint64  // last input seq applied (room goroutine)

	// Owned by the room goroutine.
	events     seatEvents // events addressed to this seat, recent first kept
	evSeq      uint64     // last event seq handed to the seat's connection
	token      tokenKey   // current resume token (hash)
	graceUntil time.Time  // while disconnected: when the seat is freed
	takeovers  [3]time.Time
	gone       bool
	expired    bool // gone because the grace window ended (or the room closed)
}

// Room returns the room of the seat.
func (s *Seat) Room() *Room { return s.room }

// Connected reports whether the seat has a live connection (room goroutine only).
func (s *Seat) Connected() bool { return s.conn != nil }

// maxSeatEvents is how many events a seat keeps at least for a resume;
// it keeps up to twice as many before trimming.
const maxSeatEvents = 256

// seatEvents is a seat's bounded buffer of recent events, ascending seq.
type seatEvents struct {
	buf  []*event
	lost uint64 // highest seq dropped from buf (0: none)
}

func (e *seatEvents) push(ev *event) {
	if n := len(e.buf); n >= 2*maxSeatEvents { // trim in batches, not per event
		e.lost = e.buf[n-maxSeatEvents-1].seq
		copy(e.buf, e.buf[n-maxSeatEvents:])
		clear(e.buf[maxSeatEvents:])
		e.buf = e.buf[:maxSeatEvents]
	}
	e.buf = append(e.buf, ev)
}

// after returns the kept events with seq > seq, oldest first, and whether
// some events after seq were dropped.
func (e *seatEvents) after(seq uint64) (evs []*event, lost bool) {
	i := sort.Search(len(e.buf), func(i int) bool { return e.buf[i].seq > seq })
	return e.buf[i:], e.lost > seq
}
