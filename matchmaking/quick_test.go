package matchmaking_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/netcode"
)

// 200 concurrent join-or-create requests over real HTTP for a 10-seat
// mode fill exactly 20 rooms, 10 seats each; the same 200 requests again
// with the same Idempotency-Keys return the same reservations and reserve
// nothing more.
func TestConcurrentJoinOrCreateFillsRoomsWithoutDuplicates(t *testing.T) {
	e := newEnv(t, envOptions{})
	const n = 200
	body := `{"mode": "arena", "filters": {"map": "dust"}}`
	round := func() [][]byte {
		out := make([][]byte, n)
		took := make([]time.Duration, n)
		var wg sync.WaitGroup
		for i := range n {
			tok := e.Token(t, fmt.Sprint("p", i))
			wg.Go(func() {
				start := time.Now()
				r := e.call(request{method: "POST", path: "/v1/matchmake/join-or-create", auth: tok, body: body,
					header: map[string]string{"Idempotency-Key": fmt.Sprint("key-", i)}})
				took[i] = time.Since(start)
				if r.status != 200 {
					t.Errorf("request %d: %d %s", i, r.status, r.body)
				}
				out[i] = r.body
			})
		}
		wg.Wait()
		slices.Sort(took)
		t.Logf("%d concurrent join-or-create (validated against openapi.yaml, -race if on): latency p50 %v, p99 %v", n, took[n/2], took[n*99/100])
		return out
	}
	check := func() {
		t.Helper()
		rooms := e.Rooms.Rooms()
		if len(rooms) != n/10 {
			t.Fatalf("%d rooms, want %d", len(rooms), n/10)
		}
		for _, info := range rooms {
			if info.Type != "arena" || info.Players != 10 || info.Metadata["map"] != "dust" {
				t.Fatalf("room %+v: want an arena room with 10 seats taken and map=dust", info)
			}
		}
	}
	first := round()
	if t.Failed() {
		t.FailNow()
	}
	check()
	perRoom := map[string]int{}
	tokens := map[string]bool{}
	for i, b := range first {
		var res reservation
		response{body: b}.decode(t, &res)
		perRoom[res.RoomID]++
		if tokens[res.SeatToken] {
			t.Fatalf("request %d: seat token handed out twice", i)
		}
		tokens[res.SeatToken] = true
		if want := e.WS; res.WSURL != want || res.Mode != "arena" || res.Code != "" {
			t.Fatalf("reservation %+v: want ws_url %s, mode arena, no code", res, want)
		}
	}
	for id, k := range perRoom {
		if k != 10 {
			t.Fatalf("room %s got %d reservations, want 10", id, k)
		}
	}

	again := round()
	for i := range again {
		if !bytes.Equal(first[i], again[i]) {
			t.Fatalf("request %d replayed with the same Idempotency-Key: got %s, want %s", i, again[i], first[i])
		}
	}
	check() // nothing more was reserved
}

func TestIdempotencyKeyScopeAndMismatch(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := map[string]string{"Idempotency-Key": "k1"}
	call := func(id, body string) response {
		return e.call(request{method: "POST", path: "/v1/matchmake/create", auth: e.Token(t, id), body: body, header: key})
	}
	a1 := call("a", `{"mode": "arena"}`)
	a2 := call("a", `{"mode": "arena"}`)
	if a1.status != 200 || !bytes.Equal(a1.body, a2.body) || a2.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s / %d %s %v, want the same answer marked Idempotent-Replayed", a1.status, a1.body, a2.status, a2.body, a2.header)
	}
	if b := call("b", `{"mode": "arena"}`); b.status != 200 || bytes.Equal(b.body, a1.body) {
		t.Fatalf("another player with the same key: %d %s, want its own reservation", b.status, b.body)
	}
	if m := call("a", `{"mode": "arena", "private": true}`); m.status != 422 || m.code(t) != "idempotency_mismatch" {
		t.Fatalf("same key, other request: %d %s, want 422 idempotency_mismatch", m.status, m.body)
	}
	if n := len(e.Rooms.Rooms()); n != 2 {
		t.Fatalf("%d rooms, want 2 (a's and b's)", n)
	}
	// A failed request is not remembered: the key may be used again.
	bad := call("c", `{"mode": "nope"}`)
	if bad.status != 404 {
		t.Fatalf("unknown mode: %d", bad.status)
	}
	if ok := call("c", `{"mode": "nope"}`); ok.status != 404 || ok.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry of a failed request: %d %v, want it run again", ok.status, ok.header)
	}
}

// A reservation that is never used frees its seat when it expires, and its
// token then answers seat_expired; a token is single use and bound to its
// player — checked through real WebSocket joins.
func TestReservationExpiresAndSeatTokenIsSingleUse(t *testing.T) {
	e := newEnv(t, envOptions{reservationTTL: 400 * time.Millisecond})
	var res reservation
	e.post("a", "/v1/matchmake/create", `{"mode": "arena"}`, 200).decode(t, &res)
	players := func() int {
		for _, info := range e.Rooms.Rooms() {
			if info.ID == res.RoomID {
				return info.Players
			}
		}
		return -1
	}
	if got := players(); got != 1 {
		t.Fatalf("room holds %d seats after the reservation, want 1", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for players() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("seat not freed after the reservation expired (room holds %d)", players())
		}
		time.Sleep(20 * time.Millisecond)
	}
	a := e.dial(res.WSURL, "a")
	if m := a.joinSeat(res.SeatToken); m.Type != netcode.MsgError || m.Code != "seat_expired" {
		t.Fatalf("join with an expired seat token: %+v, want error seat_expired", m)
	}
	a.alive()

	// A fresh reservation: someone else's join fails and leaves it valid;
	// the owner's join takes it; a second use fails.
	e.post("a", "/v1/matchmake/join", fmt.Sprintf(`{"room_id": %q}`, res.RoomID), 200).decode(t, &res)
	b := e.dial(res.WSURL, "b")
	if m := b.joinSeat(res.SeatToken); m.Type != netcode.MsgError || m.Code != "seat_invalid" {
		t.Fatalf("another player's seat token: %+v, want error seat_invalid", m)
	}
	b.alive()
	if m := a.joinSeat(res.SeatToken); m.Type != netcode.MsgJoined || m.RoomID != res.RoomID {
		t.Fatalf("owner's join: %+v, want joined %s", m, res.RoomID)
	}
	a2 := e.dial(res.WSURL, "a")
	if m := a2.joinSeat(res.SeatToken); m.Type != netcode.MsgError || m.Code != "seat_invalid" {
		t.Fatalf("second use of a seat token: %+v, want error seat_invalid", m)
	}
	a2.alive()
}

func TestCreatePrivateJoinByCodeAndListing(t *testing.T) {
	e := newEnv(t, envOptions{})
	var pub, priv, byCode reservation
	e.post("a", "/v1/matchmake/create", `{"mode": "arena", "metadata": {"map": "dust", "name": "A's room"}}`, 200).decode(t, &pub)
	e.post("b", "/v1/matchmake/create", `{"mode": "arena", "private": true}`, 200).decode(t, &priv)
	if pub.Code != "" || len(priv.Code) != 6 {
		t.Fatalf("codes: public %q, private %q; want none and 6 characters", pub.Code, priv.Code)
	}
	e.post("c", "/v1/matchmake/join", fmt.Sprintf(`{"code": %q}`, strings.ToLower(priv.Code)), 200).decode(t, &byCode)
	if byCode.RoomID != priv.RoomID {
		t.Fatalf("join by code went to %s, want %s", byCode.RoomID, priv.RoomID)
	}
	// join-or-create never picks the private room, and filters pick the public one.
	var q reservation
	e.post("d", "/v1/matchmake/join-or-create", `{"mode": "arena", "filters": {"map": "dust"}}`, 200).decode(t, &q)
	if q.RoomID != pub.RoomID {
		t.Fatalf("join-or-create with map=dust went to %s, want %s", q.RoomID, pub.RoomID)
	}

	var list struct {
		Rooms []struct {
			RoomID            string `json:"room_id"`
			Mode              string `json:"mode"`
			Players, Capacity int
			Locked            bool
			Metadata          map[string]string
		} `json:"rooms"`
	}
	r := e.call(request{method: "GET", path: "/v1/rooms?mode=arena", auth: e.Token(t, "a")})
	r.decode(t, &list)
	if r.status != 200 || len(list.Rooms) != 1 {
		t.Fatalf("GET /v1/rooms?mode=arena: %d %s, want only the public room", r.status, r.body)
	}
	got := list.Rooms[0]
	if got.RoomID != pub.RoomID || got.Players != 2 || got.Capacity != 10 || got.Locked || got.Metadata["name"] != "A's room" {
		t.Fatalf("listed %+v, want %s with 2 players of 10, unlocked, with its metadata", got, pub.RoomID)
	}
	r = e.call(request{method: "GET", path: "/v1/rooms?mode=arena-players", auth: e.Token(t, "a")})
	if r.status != 200 || string(r.body) != "{\"rooms\":[]}\n" {
		t.Fatalf("empty listing: %d %s", r.status, r.body)
	}
}

func TestWSURL(t *testing.T) {
	for _, tc := range []struct {
		name   string
		public string
		trust  bool
		header map[string]string
		want   string // "" means the test server's own ws URL
	}{
		{name: "derived from the request"},
		{name: "forwarded proto ignored unless trusted", header: map[string]string{"X-Forwarded-Proto": "https"}},
		{name: "forwarded proto trusted", trust: true, header: map[string]string{"X-Forwarded-Proto": "https"}, want: "wss://HOST/ws"},
		{name: "public URL", public: "https://play.example.com/", want: "wss://play.example.com/ws"},
		{name: "public URL with a path", public: "http://example.com/game", want: "ws://example.com/game/ws"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{config: func(c *mmConfig) { c.PublicURL, c.TrustForwardedProto = tc.public, tc.trust }})
			var res reservation
			r := e.call(request{method: "POST", path: "/v1/matchmake/create", auth: e.Token(t, "a"), body: `{"mode":"arena"}`, header: tc.header})
			r.decode(t, &res)
			want := strings.ReplaceAll(tc.want, "HOST", strings.TrimPrefix(e.URL, "http://"))
			if want == "" {
				want = e.WS
			}
			if res.WSURL != want {
				t.Fatalf("ws_url %q, want %q", res.WSURL, want)
			}
		})
	}
}
