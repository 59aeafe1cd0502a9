package faulty_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickroom/tickroom/games/faulty"
	"github.com/tickroom/tickroom/netcode/client"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server/servertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// player is one SDK client of the test and what it saw.
type player struct {
	c      *client.Client
	room   string
	frames atomic.Int64
	left   chan string // reasons of `left`, buffered
}

func dial(ctx context.Context, t *testing.T, s *servertest.Server, id string) *player {
	t.Helper()
	p := &player{left: make(chan string, 4)}
	c, err := client.Dial(ctx, client.Config{
		URL:     s.WS,
		Token:   s.Token(t, id),
		Logger:  slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnFrame: func(client.Frame) { p.frames.Add(1) },
		OnLeft:  func(_, reason string) { p.left <- reason },
	})
	if err != nil {
		t.Fatalf("dial %s: %v", id, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	p.c = c
	info, err := c.Join(ctx, "faulty", "")
	if err != nil {
		t.Fatalf("%s: join: %v", id, err)
	}
	p.room = info.RoomID
	return p
}

// waitFrames waits until p has received n more frames than it had.
func (p *player) waitFrames(ctx context.Context, n int64) error {
	want := p.frames.Load() + n
	for p.frames.Load() < want {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d frames of %d", p.frames.Load()-want+n, n)
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// TestGameFaultClosesOnlyItsRoom runs a real server with two rooms of two
// SDK clients each; a client of the first room sends the input that makes
// the game fail. Its room is closed and both its players get `left` with
// the documented reason; the second room's players keep receiving frames,
// its room keeps ticking, the server takes new joins, and the fault is
// counted by the Manager (and reported to Config.OnClosedByFault).
func TestGameFaultClosesOnlyItsRoom(t *testing.T) {
	tests := []struct {
		name   string
		cmd    faulty.Input
		reason room.LeaveReason
		faults room.Faults
	}{
		{"panic in Input", faulty.PanicInInput, room.LeaveCrashed, room.Faults{Crashed: 1}},
		{"panic in Tick", faulty.PanicInTick, room.LeaveCrashed, room.Faults{Crashed: 1}},
		// Every tick takes 3 intervals: 2 slots in 3 skipped, beyond the
		// policy's 50 % over a 1 s window.
		{"ticks overrun", faulty.SlowTicks, room.LeaveOverloaded, room.Faults{Overloaded: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ, err := faulty.Type(faulty.Options{Overload: room.OverloadPolicy{Window: time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			s := servertest.New(t, servertest.Options{Types: []*room.Type{typ}})
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()

			// Joins one after the other: capacity 2 fills room A, then B.
			a1, a2 := dial(ctx, t, s, "a1"), dial(ctx, t, s, "a2")
			b1, b2 := dial(ctx, t, s, "b1"), dial(ctx, t, s, "b2")
			if a1.room != a2.room || b1.room != b2.room || a1.room == b1.room {
				t.Fatalf("rooms a1 %s a2 %s b1 %s b2 %s: want two rooms of two", a1.room, a2.room, b1.room, b2.room)
			}
			roomB, ok := s.Rooms.Room(b1.room)
			if !ok {
				t.Fatal("room B is not running")
			}

			if _, err := a1.c.SendInput(tc.cmd); err != nil {
				t.Fatal(err)
			}
			for _, p := range []*player{a1, a2} {
				select {
				case got := <-p.left:
					if got != string(tc.reason) {
						t.Errorf("room A player got left %q, want %q", got, tc.reason)
					}
				case <-ctx.Done():
					t.Fatal("room A's players were not told the room closed")
				}
			}
			ticksB := roomB.Stats().Ticks
			for _, p := range []*player{b1, b2} {
				if err := p.waitFrames(ctx, 20); err != nil {
					t.Fatalf("room B player after room A closed: %v", err)
				}
				select {
				case got := <-p.left:
					t.Errorf("room B player got left %q, want none", got)
				default:
				}
			}
			if got := roomB.Stats().Ticks; got < ticksB+20 {
				t.Errorf("room B ran %d ticks while its players got 20 frames, want ≥ 20", got-ticksB)
			}
			if _, ok := s.Rooms.Room(a1.room); ok {
				t.Error("room A is still running")
			}
			if got := s.Rooms.Faults(); got != tc.faults {
				t.Errorf("Faults() = %+v, want %+v", got, tc.faults)
			}
			// The server and the failed room's players go on: a1 joins a
			// new room on the same connection.
			info, err := a1.c.Join(ctx, "faulty", "")
			if err != nil {
				t.Fatalf("a1 joins again: %v", err)
			}
			if info.RoomID == a1.room || info.RoomID == b1.room {
				t.Errorf("a1 rejoined room %s, want a new one", info.RoomID)
			}
			if err := a1.waitFrames(ctx, 5); err != nil {
				t.Errorf("a1 in its new room: %v", err)
			}
			t.Logf("room A %s closed %s; room B %s ticks %d → %d", a1.room, tc.reason, b1.room, ticksB, roomB.Stats().Ticks)
		})
	}
}
