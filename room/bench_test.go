package room

import (
	"fmt"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/player"
)

// discardConn accepts every frame and drops it, like an outbox that
// always has room, so the benchmark measures the room, not a socket.
type discardConn struct{ frames int }

func (c *discardConn) SendFrame(f *netcode.Frame) bool {
	c.frames++
	f.Release()
	return true
}
func (c *discardConn) Deliver([]byte) bool { return true }
func (c *discardConn) Unseat(*Seat)        {}
func (c *discardConn) Replaced(*Seat)      {}

// movers is a game where every player moves every tick (the arena's
// worst case for deltas).
type movers struct {
	ids map[*Seat]uint32
	x   map[*Seat]int64
}

func (g *movers) Join(r *Ctx, s *Seat) error {
	g.ids[s] = uint32(len(g.ids) + 1)
	return nil
}
func (g *movers) Leave(*Ctx, *Seat, LeaveReason)         {}
func (g *movers) Input(r *Ctx, s *Seat, in counterInput) {}
func (g *movers) Tick(r *Ctx) {
	for s := range g.ids {
		g.x[s] += 3
	}
}
func (g *movers) Sync(w *netcode.StateWriter) {
	for s, id := range g.ids {
		w.Entity(id, 0).Int(g.x[s])
	}
}

// benchRoom builds a room with n seated discardConns, driven by hand (no
// goroutine): each b.N iteration is one tick of inputs, simulation,
// capture and fan-out.
func benchRoom(b *testing.B, n int) (*Room, []*Seat) {
	typ := MustDefine(TypeConfig{Name: "movers", Schema: counterSchema, Capacity: n},
		func(*Ctx) Game[counterInput] { return &movers{ids: map[*Seat]uint32{}, x: map[*Seat]int64{}} })
	m, err := NewManager(Config{Types: []*Type{typ}, Clock: clockwork.NewFakeClock()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(m.Close)
	r, err := m.run(Placement{RoomID: newRoomID(), Type: "movers", Local: true}, 0)
	if err != nil {
		b.Fatal(err)
	}
	var seats []*Seat
	if err := r.Do(b.Context(), func(c *Ctx) {
		for i := range n {
			s := &Seat{Player: player.ID(fmt.Sprint("p", i)), room: r, inputs: r.game.newQueue(), conn: &discardConn{}}
			if err := r.game.join(c, s); err != nil {
				b.Fatal(err)
			}
			r.seats = append(r.seats, s)
			seats = append(seats, s)
		}
	}); err != nil {
		b.Fatal(err)
	}
	return r, seats
}

// BenchmarkRoomTick is the per-tick cost of a room where everyone moves
// and acknowledges every tick, on the room goroutine: applying the queued
// inputs, Tick, capture, one shared delta and one frame per player.
func BenchmarkRoomTick(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("players=%d", n), func(b *testing.B) {
			r, seats := benchRoom(b, n)
			payload := []byte{0x91, 0x01}
			done := make(chan struct{})
			// Run the ticks on the room goroutine, as in production.
			if err := r.Do(b.Context(), func(*Ctx) {
				for i, s := range seats { // warm up the buffers
					_ = s.PushInput(uint64(i+1), payload)
				}
				r.step()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					// Decoding inputs happens on the connections' reader
					// goroutines, not on the tick: keep it out of the figure.
					b.StopTimer()
					for _, s := range seats {
						_ = s.PushInput(uint64(i+2), payload)
						s.Ack(r.tick)
					}
					b.StartTimer()
					r.step()
				}
				b.StopTimer()
				close(done)
			}); err != nil {
				b.Fatal(err)
			}
			<-done
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/player-tick")
		})
	}
}

// BenchmarkPushInput is the cost of queueing one arena-sized input on a
// connection's reader goroutine (decode included).
func BenchmarkPushInput(b *testing.B) {
	q := newQueue[counterInput](16)
	payload := []byte{0x91, 0x05}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := q.push(uint64(i), payload); err != nil {
			b.Fatal(err)
		}
	}
}
