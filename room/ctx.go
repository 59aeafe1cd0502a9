package room

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/tickroom/tickroom/netcode"
	"github.com/vmihailenco/msgpack/v5"
)

// Ctx is the room as game code sees it. Its methods must be called only
// from the Game's methods (the room goroutine).
type Ctx struct {
	r *Room
}

// ID returns the room's ID.
func (c *Ctx) ID() string { return c.r.id }

// Type returns the room type's name.
func (c *Ctx) Type() string { return c.r.typ.cfg.Name }

// Tick returns the number of the tick being simulated (during Input and
// Tick) or of the last tick (during Join and Leave). Ticks start at 1.
func (c *Ctx) Tick() uint64 {
	if c.r.inTick {
		return c.r.tick + 1
	}
	return c.r.tick
}

// DT is the fixed simulation step: one tick's duration.
func (c *Ctx) DT() time.Duration { return c.r.interval }

// Now returns the room clock's time.
func (c *Ctx) Now() time.Time { return c.r.clock.Now() }

// Rand returns the room's random source. It is seeded from the Manager's
// seed, so a room's games are reproducible in tests.
func (c *Ctx) Rand() *rand.Rand { return c.r.rng }

// Log returns the room's logger.
func (c *Ctx) Log() *slog.Logger { return c.r.log }

// Seats returns the seats in join order. The slice is only valid until
// the game method returns.
func (c *Ctx) Seats() []*Seat { return c.r.seats }

// Broadcast emits a room event to every seated player. It rides in the
// next frame each client receives (PROTOCOL §6). payload is encoded with
// msgpack now; nil is allowed.
func (c *Ctx) Broadcast(name string, payload any) error {
	return c.r.emit(nil, name, payload)
}

// Send emits a room event to one seat only.
func (c *Ctx) Send(s *Seat, name string, payload any) error {
	if s == nil || s.room != c.r {
		return fmt.Errorf("room: Send to a seat of another room")
	}
	return c.r.emit(s, name, payload)
}

// Kick removes a seat after the current game method returns; the game's
// Leave is called with LeaveKicked.
func (c *Ctx) Kick(s *Seat) {
	if s != nil && s.room == c.r && !s.gone {
		c.r.kicks = append(c.r.kicks, s)
	}
}

// Lock stops the room from taking new players (matchmaking skips it).
func (c *Ctx) Lock() { c.r.m.setLocked(c.r, true) }

// Unlock lets the room take new players again.
func (c *Ctx) Unlock() { c.r.m.setLocked(c.r, false) }

// Snapshot returns the captured state of a recent tick, or nil if it is no
// longer in the history. The snapshot must not be modified.
func (c *Ctx) Snapshot(tick uint64) *netcode.Snapshot { return c.r.snapshot(tick) }

// event is a room event kept for delivery.
type event struct {
	seq     uint64
	to      *Seat // nil: every seat
	name    string
	payload []byte
}

func (r *Room) emit(to *Seat, name string, payload any) error {
	raw, err := msgpack.Marshal(payload)
	if err != nil {
		return fmt.Errorf("room: event %q payload: %w", name, err)
	}
	r.evSeq++
	ev := &event{seq: r.evSeq, to: to, name: name, payload: raw}
	r.fresh = append(r.fresh, ev)
	if to != nil {
		to.events.push(ev)
		return nil
	}
	for _, s := range r.seats {
		s.events.push(ev)
	}
	return nil
}
