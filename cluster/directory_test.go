package cluster

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

func TestJoinOrCreateFillsBeforeCreating(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		d := fx.open("a", nil).Directory()
		sel := room.Selector{Type: "duel"}
		p1, _ := reserve(t, d, sel, 2, "p1")
		p2, _ := reserve(t, d, sel, 2, "p2")
		p3, _ := reserve(t, d, sel, 2, "p3")
		if p1.RoomID != p2.RoomID {
			t.Fatalf("second reserve went to %s, want the open room %s", p2.RoomID, p1.RoomID)
		}
		if p3.RoomID == p1.RoomID {
			t.Fatalf("third reserve went to the full room %s", p1.RoomID)
		}
		if !p1.Local || p1.Node != "a" || p1.WSURL != "ws://a.test/ws" || p1.Type != "duel" {
			t.Fatalf("placement = %+v, want local on a", p1)
		}
		if len(p1.RoomID) != 16 || p1.RoomID[0] != 'r' {
			t.Fatalf("room ID %q: want r + 15 chars", p1.RoomID)
		}
		rs := list(t, d, "duel")
		if len(rs) != 2 {
			t.Fatalf("List: %d rooms, want 2: %+v", len(rs), rs)
		}
		if r, _ := findRoom(rs, p1.RoomID); r.Players != 2 || r.Capacity != 2 || r.Node != "a" || r.WSURL != "ws://a.test/ws" {
			t.Fatalf("first room listed as %+v, want 2/2 on a", r)
		}
		if rs[0].ID > rs[1].ID {
			t.Fatalf("List not sorted by ID: %s, %s", rs[0].ID, rs[1].ID)
		}
		if got := list(t, d, "other"); len(got) != 0 {
			t.Fatalf("List(other) = %+v, want none", got)
		}
		if got := list(t, d, ""); len(got) != 2 {
			t.Fatalf("List(\"\") = %d rooms, want 2", len(got))
		}
	})
}

func TestFiltersAndMetadata(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		d := fx.open("a", nil).Directory()
		x, _ := reserve(t, d, room.Selector{Type: "g", Filters: map[string]string{"map": "x"}}, 4, "p1")
		if x.Metadata["map"] != "x" {
			t.Fatalf("metadata = %v, want the filters", x.Metadata)
		}
		y, _ := reserve(t, d, room.Selector{Type: "g", Filters: map[string]string{"map": "y"}}, 4, "p2")
		if y.RoomID == x.RoomID {
			t.Fatal("map=y joined the map=x room")
		}
		any, _ := reserve(t, d, room.Selector{Type: "g"}, 4, "p3")
		if any.RoomID != x.RoomID {
			t.Fatalf("no filters went to %s, want the oldest open room %s", any.RoomID, x.RoomID)
		}
		z, _ := reserve(t, d, room.Selector{Type: "g", Filters: map[string]string{"map": "z"}, Metadata: map[string]string{"map": "z", "mode": "hard"}}, 4, "p4")
		if z.Metadata["mode"] != "hard" {
			t.Fatalf("metadata = %v, want sel.Metadata", z.Metadata)
		}
		d.SetMetadata(y.RoomID, map[string]string{"map": "x"})
		flush(t, fx.nodes[0])
		got, _ := reserve(t, d, room.Selector{Type: "g", Filters: map[string]string{"map": "y"}}, 4, "p5")
		if got.RoomID == y.RoomID {
			t.Fatal("map=y matched a room whose metadata changed to map=x")
		}
		if r, _ := findRoom(list(t, d, "g"), y.RoomID); r.Metadata["map"] != "x" {
			t.Fatalf("listed metadata = %v, want map=x", r.Metadata)
		}
	})
}

func TestCapacityLockedPrivate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		n := fx.open("a", nil)
		d := n.Directory()
		ttl := 15 * time.Second
		// a group larger than a room
		_, _, err := d.Reserve(ctx(t), room.Selector{Type: "g"}, 2, []player.ID{"a", "b", "c"}, []string{newToken(), newToken(), newToken()}, ttl)
		if !errors.Is(err, room.ErrRoomFull) {
			t.Fatalf("group of 3 in rooms of 2: err = %v, want ErrRoomFull", err)
		}
		// a group that does not fit the open room goes to a new one
		first, _ := reserve(t, d, room.Selector{Type: "g"}, 3, "p1")
		pair, _, err := d.Reserve(ctx(t), room.Selector{Type: "g"}, 3, []player.ID{"p2", "p3", "p4"}, []string{newToken(), newToken(), newToken()}, ttl)
		if err != nil || pair.RoomID == first.RoomID {
			t.Fatalf("group of 3 with 2 free: room %s err %v, want a new room", pair.RoomID, err)
		}
		// locked rooms take nobody
		d.SetLocked(first.RoomID, true)
		flush(t, n)
		next, _ := reserve(t, d, room.Selector{Type: "g"}, 3, "p5")
		if next.RoomID == first.RoomID {
			t.Fatal("join-or-create picked a locked room")
		}
		if _, _, err := d.Reserve(ctx(t), room.Selector{RoomID: first.RoomID}, 3, []player.ID{"p6"}, []string{newToken()}, ttl); !errors.Is(err, room.ErrRoomLocked) {
			t.Fatalf("reserve by ID in a locked room: err = %v, want ErrRoomLocked", err)
		}
		if _, err := d.Take(ctx(t), room.Selector{RoomID: first.RoomID}, 3); !errors.Is(err, room.ErrRoomLocked) {
			t.Fatalf("take by ID in a locked room: err = %v, want ErrRoomLocked", err)
		}
		if r, _ := findRoom(list(t, d, "g"), first.RoomID); !r.Locked {
			t.Fatal("listing does not show the room locked")
		}
		// full by ID
		if _, _, err := d.Reserve(ctx(t), room.Selector{RoomID: pair.RoomID}, 3, []player.ID{"p7"}, []string{newToken()}, ttl); !errors.Is(err, room.ErrRoomFull) {
			t.Fatalf("reserve in a full room: err = %v, want ErrRoomFull", err)
		}
		if _, _, err := d.Reserve(ctx(t), room.Selector{RoomID: "rnope"}, 3, []player.ID{"p7"}, []string{newToken()}, ttl); !errors.Is(err, room.ErrRoomNotFound) {
			t.Fatalf("reserve in a missing room: err = %v, want ErrRoomNotFound", err)
		}
		// private rooms: a code, never matched, joined by code or ID
		priv, _ := reserve(t, d, room.Selector{Type: "h", Create: true, Private: true}, 4, "q1")
		if !priv.Private || len(priv.Code) != 6 || strings.Trim(priv.Code, codeAlphabet) != "" {
			t.Fatalf("private placement = %+v, want a 6-char code", priv)
		}
		pub, _ := reserve(t, d, room.Selector{Type: "h"}, 4, "q2")
		if pub.RoomID == priv.RoomID {
			t.Fatal("join-or-create picked a private room")
		}
		byCode, _ := reserve(t, d, room.Selector{Code: priv.Code}, 4, "q3")
		byID, _ := reserve(t, d, room.Selector{RoomID: priv.RoomID}, 4, "q4")
		if byCode.RoomID != priv.RoomID || byID.RoomID != priv.RoomID {
			t.Fatalf("by code %s, by ID %s, want %s", byCode.RoomID, byID.RoomID, priv.RoomID)
		}
		if _, _, err := d.Reserve(ctx(t), room.Selector{Code: "ZZZZZZ"}, 4, []player.ID{"q5"}, []string{newToken()}, ttl); !errors.Is(err, room.ErrRoomNotFound) {
			t.Fatalf("unknown code: err = %v, want ErrRoomNotFound", err)
		}
		if _, _, err := d.Reserve(ctx(t), room.Selector{Type: "g", RoomID: priv.RoomID}, 4, []player.ID{"q5"}, []string{newToken()}, ttl); !errors.Is(err, room.ErrRoomNotFound) {
			t.Fatalf("by ID with the wrong type: err = %v, want ErrRoomNotFound", err)
		}
		if r, ok := findRoom(list(t, d, "h"), priv.RoomID); !ok || !r.Private || r.Code != priv.Code || r.Players != 3 {
			t.Fatalf("private room listed as %+v (found %v), want private, code, 3 players", r, ok)
		}
	})
}

func TestConsume(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		n := fx.open("a", nil)
		d := n.Directory()
		pl, tok := reserve(t, d, room.Selector{Type: "g"}, 4, "alice")
		if _, err := d.Consume(ctx(t), "no-such-token", "alice"); !errors.Is(err, room.ErrSeatInvalid) {
			t.Fatalf("unknown token: err = %v, want ErrSeatInvalid", err)
		}
		if _, err := d.Consume(ctx(t), tok, "mallory"); !errors.Is(err, room.ErrSeatInvalid) {
			t.Fatalf("another player's token: err = %v, want ErrSeatInvalid", err)
		}
		got, err := d.Consume(ctx(t), tok, "alice")
		if err != nil || got.RoomID != pl.RoomID || !got.Local {
			t.Fatalf("Consume = %+v, %v; want room %s, local", got, err, pl.RoomID)
		}
		if _, err := d.Consume(ctx(t), tok, "alice"); !errors.Is(err, room.ErrSeatInvalid) {
			t.Fatalf("second use: err = %v, want ErrSeatInvalid", err)
		}
		if r, _ := findRoom(list(t, d, "g"), pl.RoomID); r.Players != 1 {
			t.Fatalf("after consume the room has %d players, want 1 (the seat stays counted)", r.Players)
		}
		// expiry: the seat is freed, the token answers expired for 5 minutes
		_, tok2 := reserve(t, d, room.Selector{Type: "g"}, 4, "bob")
		if r, _ := findRoom(list(t, d, "g"), pl.RoomID); r.Players != 2 {
			t.Fatalf("with a reservation the room has %d players, want 2", r.Players)
		}
		fx.step(16 * time.Second)
		if r, _ := findRoom(list(t, d, "g"), pl.RoomID); r.Players != 1 {
			t.Fatalf("after expiry the room has %d players, want 1", r.Players)
		}
		if _, err := d.Consume(ctx(t), tok2, "bob"); !errors.Is(err, room.ErrSeatExpired) {
			t.Fatalf("expired token: err = %v, want ErrSeatExpired", err)
		}
		fx.step(5 * time.Minute)
		if _, err := d.Consume(ctx(t), tok2, "bob"); !errors.Is(err, room.ErrSeatInvalid) {
			t.Fatalf("token 5 minutes after expiry: err = %v, want ErrSeatInvalid", err)
		}
	})
}

func TestTakeReleaseDispose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		n := fx.open("a", nil)
		d := n.Directory()
		a, err := d.Take(ctx(t), room.Selector{Type: "g"}, 2)
		if err != nil || !a.Local {
			t.Fatalf("Take = %+v, %v", a, err)
		}
		b, _ := d.Take(ctx(t), room.Selector{Type: "g"}, 2)
		c, _ := d.Take(ctx(t), room.Selector{Type: "g"}, 2)
		if b.RoomID != a.RoomID || c.RoomID == a.RoomID {
			t.Fatalf("takes went to %s %s %s: want the first two together", a.RoomID, b.RoomID, c.RoomID)
		}
		if _, err := d.Take(ctx(t), room.Selector{RoomID: a.RoomID}, 2); !errors.Is(err, room.ErrRoomFull) {
			t.Fatalf("take by ID in a full room: err = %v, want ErrRoomFull", err)
		}
		dispose := func(id string) bool {
			ch := make(chan bool, 1)
			d.Dispose(id, func(ok bool) { ch <- ok })
			select {
			case ok := <-ch:
				return ok
			case <-time.After(10 * time.Second):
				t.Fatal("Dispose never answered")
				return false
			}
		}
		if dispose(a.RoomID) {
			t.Fatal("Dispose removed a room with seats")
		}
		d.Release(a.RoomID)
		d.Release(a.RoomID)
		if !dispose(a.RoomID) {
			t.Fatal("Dispose kept an empty room")
		}
		if _, ok := findRoom(list(t, d, ""), a.RoomID); ok {
			t.Fatal("disposed room still listed")
		}
		// a live reservation keeps the room
		d.Release(c.RoomID)
		reserve(t, d, room.Selector{RoomID: c.RoomID}, 2, "p")
		if dispose(c.RoomID) {
			t.Fatal("Dispose removed a room with a live reservation")
		}
		d.Remove(c.RoomID)
		flush(t, n)
		if got := list(t, d, ""); len(got) != 0 {
			t.Fatalf("after Remove: %+v, want no rooms", got)
		}
		if st := n.Stats(); st.OpsApplied == 0 || st.OpsDropped != 0 {
			t.Fatalf("stats = %+v", st)
		}
	})
}

func TestEmbeddedMiniredis(t *testing.T) {
	n, err := Open(ctx(t), Config{WSURL: "ws://solo.test/ws"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.mini == nil {
		t.Fatal("no embedded miniredis started")
	}
	pl, tok := reserve(t, n.Directory(), room.Selector{Type: "g"}, 2, "p")
	if _, err := n.Directory().Consume(ctx(t), tok, "p"); err != nil || !pl.Local {
		t.Fatalf("consume on the embedded store: %v (placement %+v)", err, pl)
	}
	if !n.Healthy() {
		t.Fatal("node not healthy")
	}
	if ns, err := n.Nodes(ctx(t)); err != nil || len(ns) != 1 || ns[0].WSURL != "ws://solo.test/ws" {
		t.Fatalf("Nodes = %+v, %v", ns, err)
	}
}

func TestConfigValidation(t *testing.T) {
	if _, err := Open(ctx(t), Config{}); err == nil {
		t.Fatal("Open without WSURL succeeded")
	}
	if _, err := Open(ctx(t), Config{WSURL: "ws://x", URL: "http://nope"}); err == nil {
		t.Fatal("Open with a bad URL succeeded")
	}
	start := time.Now()
	if _, err := Open(ctx(t), Config{WSURL: "ws://x", URL: "redis://127.0.0.1:1/0"}); !errors.Is(err, room.ErrUnavailable) {
		t.Fatalf("Open with no Redis: err = %v, want ErrUnavailable", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("Open with no Redis took %v", el)
	}
}

// A room full only through reservations takes players again once they
// expire (it is held, then reopened, in creation order).
func TestExpiredReservationsReopenRoom(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		d := fx.open("a", nil).Directory()
		sel := room.Selector{Type: "g"}
		a, _ := reserve(t, d, sel, 2, "p1")
		reserve(t, d, sel, 2, "p2")
		fx.step(10 * time.Second)
		b, _ := reserve(t, d, sel, 2, "p3")
		if b.RoomID == a.RoomID {
			t.Fatal("a room full of reservations took a third player")
		}
		fx.step(6 * time.Second) // a's reservations expired, b's live
		c, _ := reserve(t, d, sel, 2, "p4")
		if c.RoomID != a.RoomID {
			t.Fatalf("p4 went to %s, want the reopened older room %s", c.RoomID, a.RoomID)
		}
		e, _ := reserve(t, d, sel, 2, "p5")
		if e.RoomID != a.RoomID {
			t.Fatalf("p5 went to %s, want %s (one seat left)", e.RoomID, a.RoomID)
		}
		f, _ := reserve(t, d, sel, 2, "p6")
		if f.RoomID != b.RoomID {
			t.Fatalf("p6 went to %s, want %s", f.RoomID, b.RoomID)
		}
	})
}
