package cluster

import (
	"errors"
	"testing"
	"time"

	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// A draining node's open rooms leave join-or-create and the node leaves
// placement at once, even when it is the least loaded; the mark survives a
// re-registration; listings still show its rooms.
func TestDrainingNodeLeavesPlacement(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		a, b := fx.open("a", nil), fx.open("b", nil)
		// An open room on a (a's load 1, b's 0).
		open, _ := reserve(t, a.Directory(), room.Selector{Type: "g"}, 4, "p0")
		if open.Node != "a" {
			t.Fatalf("first room on %s, want a (ties go to the caller)", open.Node)
		}
		if err := a.Drain(ctx(t)); err != nil {
			t.Fatal(err)
		}
		// Through a itself: a's open room is skipped, the new room goes to b.
		got, _ := reserve(t, a.Directory(), room.Selector{Type: "g"}, 4, "p1")
		if got.Node != "b" || got.RoomID == open.RoomID {
			t.Fatalf("join-or-create during a's drain placed %+v, want a new room on b", got)
		}
		// b is now loaded more than a; creation still avoids a.
		for i := range 3 {
			pl, _ := reserve(t, b.Directory(), room.Selector{Type: "g", Create: true}, 4, player.ID("q"+string(rune('0'+i))))
			if pl.Node != "b" {
				t.Fatalf("create during a's drain placed on %s, want b", pl.Node)
			}
		}
		if err := a.register(ctx(t)); err != nil { // as after a lost lease
			t.Fatal(err)
		}
		ns, err := b.Nodes(ctx(t))
		if err != nil || len(ns) != 2 || !ns[0].Draining || ns[1].Draining {
			t.Fatalf("Nodes = %+v, %v; want a draining (after re-registering), b not", ns, err)
		}
		if r, ok := findRoom(list(t, b.Directory(), "g"), open.RoomID); !ok || !r.Draining {
			t.Fatalf("the draining node's room listed as %+v (%v); want it listed, draining", r, ok)
		}
		if _, _, err := b.Directory().Reserve(ctx(t), room.Selector{RoomID: open.RoomID}, 4, []player.ID{"r"}, []string{newToken()}, time.Minute); !errors.Is(err, room.ErrRoomLocked) {
			t.Fatalf("reserve by ID in the draining node's room: %v, want ErrRoomLocked", err)
		}
	})
}
