package room

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/player"
)

func TestConcurrentJoinOrCreateNeverDuplicatesRooms(t *testing.T) {
	h := newHarness(t, TypeConfig{Capacity: 10}, nil)
	var wg sync.WaitGroup
	res := make([]Reservation, 200)
	errs := make([]error, 200)
	for i := range 200 {
		wg.Go(func() {
			res[i], errs[i] = h.m.Reserve(t.Context(), player.ID(fmt.Sprint("p", i)), Selector{Type: "counter", Filters: map[string]string{"map": "dust"}})
		})
	}
	wg.Wait()
	perRoom := map[string]int{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("reserve %d: %v", i, err)
		}
		perRoom[res[i].RoomID]++
	}
	if len(perRoom) != 20 {
		t.Fatalf("%d rooms, want 20", len(perRoom))
	}
	for id, n := range perRoom {
		if n != 10 {
			t.Fatalf("room %s got %d reservations, want 10", id, n)
		}
	}
	for _, info := range h.m.Rooms() {
		if info.Players != 10 || info.Metadata["map"] != "dust" {
			t.Fatalf("room %+v: want 10 seats taken and the filter as metadata", info)
		}
	}
	// A different filter never lands in those rooms.
	other, err := h.m.Reserve(t.Context(), "q", Selector{Type: "counter", Filters: map[string]string{"map": "nuke"}})
	if err != nil || perRoom[other.RoomID] != 0 {
		t.Fatalf("other filter: %+v %v, want a new room", other, err)
	}
}

func TestReservationIsSingleUseOwnedAndExpires(t *testing.T) {
	h := newHarness(t, TypeConfig{Capacity: 2}, nil)
	joinSeat := func(id, token string) error {
		done := make(chan error, 1)
		h.m.Join(JoinRequest{Player: player.ID(id), Conn: &testConn{}, SeatToken: token, Done: func(s *Seat, err error) { done <- err }})
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("join: no answer")
			return nil
		}
	}
	a, err := h.m.Reserve(t.Context(), "a", Selector{Type: "counter"})
	if err != nil {
		t.Fatal(err)
	}
	if err := joinSeat("b", a.SeatToken); !errors.Is(err, ErrSeatInvalid) {
		t.Fatalf("another player's token: %v, want ErrSeatInvalid", err)
	}
	if err := joinSeat("a", a.SeatToken); err != nil {
		t.Fatalf("owner's join: %v", err)
	}
	if err := joinSeat("a", a.SeatToken); !errors.Is(err, ErrSeatInvalid) {
		t.Fatalf("second use: %v, want ErrSeatInvalid", err)
	}

	// The room has 2 seats: a's and a reservation for b; c finds it full.
	b, err := h.m.Reserve(t.Context(), "b", Selector{RoomID: a.RoomID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Reserve(t.Context(), "c", Selector{RoomID: a.RoomID}); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("reserved seat not counted: %v, want ErrRoomFull", err)
	}
	// Expiry frees b's seat.
	h.clk.Advance(15 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := h.m.Reserve(t.Context(), "c", Selector{RoomID: a.RoomID}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("expired reservation never freed its seat")
		}
		time.Sleep(time.Millisecond) // the expiry runs on the clock's goroutine
	}
	if err := joinSeat("b", b.SeatToken); !errors.Is(err, ErrSeatExpired) {
		t.Fatalf("expired token: %v, want ErrSeatExpired", err)
	}
}

func TestPrivateRoomsAreJoinedByCodeOnly(t *testing.T) {
	h := newHarness(t, TypeConfig{Capacity: 4}, nil)
	p, err := h.m.Reserve(t.Context(), "host", Selector{Type: "counter", Create: true, Private: true})
	if err != nil || len(p.Code) != 6 {
		t.Fatalf("private create: %+v %v", p, err)
	}
	pub, _ := h.m.Reserve(t.Context(), "x", Selector{Type: "counter"})
	if pub.RoomID == p.RoomID {
		t.Fatal("join-or-create matched a private room")
	}
	for _, r := range mustList(t, h.m, "counter") {
		if r.ID == p.RoomID {
			t.Fatal("private room listed")
		}
	}
	g, err := h.m.Reserve(t.Context(), "guest", Selector{Code: p.Code})
	if err != nil || g.RoomID != p.RoomID {
		t.Fatalf("join by code: %+v %v", g, err)
	}
	if _, err := h.m.Reserve(t.Context(), "guest", Selector{Code: "ZZZZZZ"}); !errors.Is(err, ErrRoomNotFound) {
		t.Fatalf("unknown code: %v", err)
	}
	// A group is seated together or not at all.
	if _, err := h.m.ReserveGroup(t.Context(), []player.ID{"1", "2", "3"}, Selector{Code: p.Code}); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("group larger than the free seats: %v, want ErrRoomFull", err)
	}
	grp, err := h.m.ReserveGroup(t.Context(), []player.ID{"1", "2", "3"}, Selector{Type: "counter", Create: true})
	if err != nil || grp[0].RoomID != grp[2].RoomID {
		t.Fatalf("group: %+v %v", grp, err)
	}
}

func mustList(t *testing.T, m *Manager, typ string) []RoomInfo {
	t.Helper()
	out, err := m.List(t.Context(), typ)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
