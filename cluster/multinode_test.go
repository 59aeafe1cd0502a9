package cluster

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// 200 concurrent join-or-create reservations through two nodes yield
// exactly ceil(200/cap) rooms, none overfull, never two open rooms.
func TestConcurrentReservesTwoNodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		slow := func(c *Config) { c.OpTimeout = 20 * time.Second } // -race on 2 cores
		ds := []room.Directory{fx.open("a", slow).Directory(), fx.open("b", slow).Directory()}
		const players, capacity = 200, 8
		var wg sync.WaitGroup
		errs := make(chan error, players)
		for i := range players {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := ds[i%2].Reserve(ctx(t), room.Selector{Type: "brawl"}, capacity,
					[]player.ID{player.ID(fmt.Sprint("p", i))}, []string{newToken()}, time.Minute)
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("Reserve: %v", err)
		}
		rs := list(t, ds[0], "brawl")
		if want := (players + capacity - 1) / capacity; len(rs) != want {
			t.Fatalf("%d rooms, want %d", len(rs), want)
		}
		nodes := map[string]int{}
		for _, r := range rs {
			if r.Players != capacity {
				t.Fatalf("room %s has %d players, want %d (full, none over)", r.ID, r.Players, capacity)
			}
			nodes[r.Node]++
		}
		if len(nodes) != 2 {
			t.Fatalf("rooms per node %v: want rooms on both nodes (least-loaded placement)", nodes)
		}
	})
}

func TestLeastLoadedPlacementAndRemoteConsume(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		a, b := fx.open("a", nil), fx.open("b", nil)
		for range 3 {
			if _, err := a.Directory().Take(ctx(t), room.Selector{Type: "g"}, 4); err != nil {
				t.Fatal(err)
			}
		}
		pl, tok := reserve(t, a.Directory(), room.Selector{Type: "g", Create: true}, 4, "p")
		if pl.Node != "b" || pl.Local || pl.WSURL != "ws://b.test/ws" {
			t.Fatalf("new room placed as %+v, want on the less loaded b", pl)
		}
		// the pending room is listed while its reservation lives
		if r, ok := findRoom(list(t, a.Directory(), "g"), pl.RoomID); !ok || r.Players != 1 {
			t.Fatalf("pending room listed as %+v (%v), want 1 player", r, ok)
		}
		// a consumes nothing of b's room: the reservation stays
		got, err := a.Directory().Consume(ctx(t), tok, "p")
		if err != nil || got.Local || got.WSURL != "ws://b.test/ws" {
			t.Fatalf("Consume on a = %+v, %v; want a redirect to b", got, err)
		}
		got, err = b.Directory().Consume(ctx(t), tok, "p")
		if err != nil || !got.Local || got.RoomID != pl.RoomID {
			t.Fatalf("Consume on b = %+v, %v; want local", got, err)
		}
		// take by ID from another node: nothing counted, Local false
		far, err := a.Directory().Take(ctx(t), room.Selector{RoomID: pl.RoomID}, 4)
		if err != nil || far.Local || far.Node != "b" {
			t.Fatalf("Take by ID on a = %+v, %v", far, err)
		}
		if r, _ := findRoom(list(t, b.Directory(), "g"), pl.RoomID); r.Players != 1 {
			t.Fatalf("room on b has %d players, want 1", r.Players)
		}
		// take by type stays on this node
		mine, _ := b.Directory().Take(ctx(t), room.Selector{Type: "g"}, 4)
		if mine.RoomID != pl.RoomID || !mine.Local {
			t.Fatalf("Take by type on b = %+v, want its own open room", mine)
		}
		fx.step(testLease / 5)
		ns, err := a.Nodes(ctx(t))
		if err != nil || len(ns) != 2 || ns[0].Load != 3 || ns[1].Load != 2 {
			t.Fatalf("Nodes = %+v, %v; want a load 3, b load 2", ns, err)
		}
	})
}

// A room created for a node that never takes it disappears once its
// reservation expires, and never blocks placement.
func TestPendingRoomVanishes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		a, _ := fx.open("a", nil), fx.open("b", nil)
		if _, err := a.Directory().Take(ctx(t), room.Selector{Type: "g"}, 4); err != nil {
			t.Fatal(err)
		}
		pl, _ := reserve(t, a.Directory(), room.Selector{Type: "g", Create: true}, 4, "p")
		if pl.Node != "b" {
			t.Fatalf("placed on %s, want b", pl.Node)
		}
		fx.step(20 * time.Second)
		if _, ok := findRoom(list(t, a.Directory(), ""), pl.RoomID); ok {
			t.Fatal("an expired pending room is still listed")
		}
		if _, _, err := a.Directory().Reserve(ctx(t), room.Selector{RoomID: pl.RoomID}, 4, []player.ID{"q"}, []string{newToken()}, time.Minute); !errors.Is(err, room.ErrRoomNotFound) {
			t.Fatalf("reserve in an expired pending room: %v, want ErrRoomNotFound", err)
		}
	})
}

// A node that stops renewing loses its rooms from listings once its lease
// passes, before any sweep; then a healthy node sweeps them.
func TestDeadNodeLeavesListingsAndIsSwept(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		a, b := fx.open("a", nil), fx.open("b", nil)
		rb, err := b.Directory().Take(ctx(t), room.Selector{Type: "g"}, 4)
		if err != nil {
			t.Fatal(err)
		}
		b.Directory().PutToken("tokkey", rb.RoomID)
		b.Online("pl")
		flush(t, b)
		if ws, found, err := a.Directory().FindToken(ctx(t), "tokkey"); err != nil || !found || ws != "ws://b.test/ws" {
			t.Fatalf("FindToken = %q %v %v, want b's URL", ws, found, err)
		}
		if ws, found, err := a.Directory().FindToken(ctx(t), "nokey"); err != nil || found || ws != "" {
			t.Fatalf("FindToken(unknown) = %q %v %v", ws, found, err)
		}
		if err := b.close(false); err != nil { // a crash: no leave
			t.Fatal(err)
		}
		// one missed renewal hides nothing
		fx.step(testLease / 5)
		if _, ok := findRoom(list(t, a.Directory(), ""), rb.RoomID); !ok {
			t.Fatal("room hidden after one missed renewal")
		}
		fx.step(testLease)
		if _, ok := findRoom(list(t, a.Directory(), ""), rb.RoomID); ok {
			t.Fatal("dead node's room still listed after its lease")
		}
		if _, _, err := a.Directory().FindToken(ctx(t), "tokkey"); !errors.Is(err, room.ErrRoomGone) {
			t.Fatalf("FindToken of a dead node's seat: err = %v, want ErrRoomGone", err)
		}
		if k, err := a.Send(ctx(t), "pl", []byte("hi")); err != nil || k != 0 {
			t.Fatalf("Send to a player of a dead node = %d, %v; want 0", k, err)
		}
		fx.step(testLease)
		waitFor(t, "a sweep", func() bool { return a.Stats().Swept > 0 })
		if ex, _ := a.Client().Exists(ctx(t), fx.prefix+"room:"+rb.RoomID, fx.prefix+"node:b").Result(); ex != 0 {
			t.Fatalf("%d records of the dead node remain after the sweep", ex)
		}
		if _, _, err := a.Directory().FindToken(ctx(t), "tokkey"); !errors.Is(err, room.ErrRoomGone) {
			t.Fatalf("FindToken after the sweep: err = %v, want ErrRoomGone", err)
		}
		if ns, _ := a.Nodes(ctx(t)); len(ns) != 1 || ns[0].ID != "a" {
			t.Fatalf("Nodes = %+v, want only a", ns)
		}
	})
}

func TestCloseLeaves(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		a, b := fx.open("a", nil), fx.open("b", nil)
		if _, err := b.Directory().Take(ctx(t), room.Selector{Type: "g"}, 4); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if rs := list(t, a.Directory(), ""); len(rs) != 0 {
			t.Fatalf("after b left: %+v, want no rooms", rs)
		}
		if ns, _ := a.Nodes(ctx(t)); len(ns) != 1 {
			t.Fatalf("Nodes = %+v, want only a", ns)
		}
		b.Directory().Release("x") // after Close: dropped, never blocks
		if b.Stats().OpsDropped == 0 {
			t.Fatal("op after Close not counted as dropped")
		}
	})
}

// An old incarnation of a node (same ID, earlier epoch) cannot overwrite
// the room its successor re-asserted.
func TestStaleOwnerRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		old := fx.open("a", nil)
		r, err := old.Directory().Take(ctx(t), room.Selector{Type: "g"}, 4)
		if err != nil {
			t.Fatal(err)
		}
		owned := []room.OwnedRoom{{ID: r.RoomID, Type: "g", Capacity: 4, Seats: 1}}
		succ := fx.open("a", func(c *Config) { c.Owned = func() []room.OwnedRoom { return owned } })
		if rs := list(t, succ.Directory(), ""); len(rs) != 0 {
			t.Fatalf("rooms of the old epoch still listed: %+v", rs)
		}
		succ.requestReassert()
		waitFor(t, "re-assertion", func() bool { return succ.Stats().Reassertions > 0 })
		old.Directory().SetLocked(r.RoomID, true)
		old.Directory().Remove(r.RoomID)
		flush(t, old)
		if st := old.Stats(); st.OpsRefused != 2 {
			t.Fatalf("old owner: %d writes refused, want 2 (%+v)", st.OpsRefused, st)
		}
		got, ok := findRoom(list(t, succ.Directory(), ""), r.RoomID)
		if !ok || got.Locked || got.Players != 1 || got.Node != "a" {
			t.Fatalf("room after stale writes: %+v (listed %v), want unlocked with 1 player", got, ok)
		}
		// the successor's own writes apply
		succ.Directory().SetLocked(r.RoomID, true)
		flush(t, succ)
		if got, _ := findRoom(list(t, succ.Directory(), ""), r.RoomID); !got.Locked {
			t.Fatal("owner's write not applied")
		}
	})
}

func TestSendAcrossNodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		type got struct {
			id  player.ID
			msg string
		}
		inbox := func() (chan got, func(*Config)) {
			ch := make(chan got, 8)
			return ch, func(c *Config) {
				c.Deliver = func(id player.ID, msg []byte) int {
					select {
					case ch <- got{id, string(msg)}:
					default:
					}
					return 1
				}
			}
		}
		ia, ma := inbox()
		ib, mb := inbox()
		ic, mc := inbox()
		a, b, c := fx.open("a", ma), fx.open("b", mb), fx.open("c", mc)
		a.Online("p")
		b.Online("p")
		c.Online("p")
		flush(t, a)
		flush(t, b)
		flush(t, c)
		c.Offline("p")
		flush(t, c)
		k, err := a.Send(ctx(t), "p", []byte("hello"))
		if err != nil || k != 1 {
			t.Fatalf("Send = %d, %v; want 1 node (b; not a itself, not c: offline)", k, err)
		}
		select {
		case m := <-ib:
			if m.id != "p" || m.msg != "hello" {
				t.Fatalf("b got %+v", m)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("b never got the message")
		}
		select {
		case m := <-ia:
			t.Fatalf("a delivered its own send: %+v", m)
		case m := <-ic:
			t.Fatalf("c delivered for an offline player: %+v", m)
		default:
		}
		if k, err := b.Send(ctx(t), "nobody", []byte("x")); err != nil || k != 0 {
			t.Fatalf("Send to nobody = %d, %v", k, err)
		}
		if _, err := a.Send(ctx(t), "p", make([]byte, 2<<20)); err == nil {
			t.Fatal("oversized message accepted")
		}
		if b.Stats().PubSubIn != 1 {
			t.Fatalf("b stats = %+v, want 1 message in", b.Stats())
		}
	})
}

// When Redis loses a node's records (a restart without persistence, a
// failover), the next renewal is refused; the node registers again and
// re-asserts its rooms (same IDs), tokens and presence.
func TestLostLeaseReasserts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		var mu sync.Mutex
		var owned []room.OwnedRoom
		a := fx.open("a", nil)
		b := fx.open("b", func(c *Config) {
			c.Owned = func() []room.OwnedRoom {
				mu.Lock()
				defer mu.Unlock()
				return owned
			}
			c.Online = func() []player.ID { return []player.ID{"p"} }
		})
		pl, err := b.Directory().Take(ctx(t), room.Selector{Type: "g", Create: true, Private: true}, 4)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		owned = []room.OwnedRoom{{ID: pl.RoomID, Type: "g", Capacity: 4, Seats: 1, Locked: true, Private: true, Code: pl.Code, Tokens: []string{"k"}}}
		mu.Unlock()
		keys, err := b.Client().Keys(ctx(t), fx.prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		var drop []string
		for _, k := range keys {
			if k != fx.prefix+"node:a" && k != fx.prefix+"nodes" && k != fx.prefix+"fence" {
				drop = append(drop, k)
			}
		}
		if err := b.Client().Del(ctx(t), drop...).Err(); err != nil {
			t.Fatal(err)
		}
		if rs := list(t, a.Directory(), ""); len(rs) != 0 {
			t.Fatalf("rooms listed after their records were lost: %+v", rs)
		}
		fx.step(testLease / 5)
		waitFor(t, "the re-assertion", func() bool { return b.Stats().Reassertions > 0 })
		r, ok := findRoom(list(t, a.Directory(), ""), pl.RoomID)
		if !ok || r.Node != "b" || !r.Locked || !r.Private || r.Code != pl.Code || r.Players != 1 {
			t.Fatalf("re-asserted room = %+v (listed %v)", r, ok)
		}
		if ws, found, err := a.Directory().FindToken(ctx(t), "k"); err != nil || !found || ws != "ws://b.test/ws" {
			t.Fatalf("FindToken after re-assertion = %q %v %v", ws, found, err)
		}
		if k, err := a.Send(ctx(t), "p", []byte("x")); err != nil || k != 1 {
			t.Fatalf("Send after re-assertion = %d, %v; want b", k, err)
		}
		if got, err := a.Directory().Take(ctx(t), room.Selector{Code: pl.Code}, 4); !errors.Is(err, room.ErrRoomLocked) {
			t.Fatalf("join by code of the re-asserted locked room = %+v, %v; want ErrRoomLocked", got, err)
		}
	})
}

func TestPresent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		a, b := fx.open("a", nil), fx.open("b", nil)
		a.Online("p")
		b.Online("p")
		flush(t, a)
		flush(t, b)
		if got, err := a.Present(ctx(t), "p"); err != nil || fmt.Sprint(got) != "[a b]" {
			t.Fatalf("Present = %v, %v; want [a b]", got, err)
		}
		b.Offline("p")
		flush(t, b)
		if got, _ := b.Present(ctx(t), "p"); fmt.Sprint(got) != "[a]" {
			t.Fatalf("after b.Offline: %v, want [a]", got)
		}
		if err := a.close(false); err != nil {
			t.Fatal(err)
		}
		fx.step(testLease + testLease/5)
		if got, _ := b.Present(ctx(t), "p"); len(got) != 0 {
			t.Fatalf("presence of a dead node counted: %v", got)
		}
	})
}
