package matchmaking_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tickroom/tickroom/netcode"
)

// advance runs one matcher pass: it waits for the matcher to sleep on its
// ticker, then moves the fake clock by one interval.
func (e *env) advance(d time.Duration) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.clock.BlockUntilContext(ctx, 1); err != nil {
		e.t.Fatalf("the matcher is not waiting on its ticker: %v", err)
	}
	e.clock.Advance(d)
}

// waitTicket polls a ticket until its status is not queued (5 s of real time).
func (e *env) waitTicket(id, as string) ticket {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var tk ticket
		r := e.call(request{method: "GET", path: "/v1/matchmaking/tickets/" + id, auth: e.Token(e.t, as)})
		if r.status != 200 {
			e.t.Fatalf("GET ticket %s as %s: %d %s", id, as, r.status, r.body)
		}
		r.decode(e.t, &tk)
		if tk.Status != "queued" || time.Now().After(deadline) {
			return tk
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Four players — a party of two and two singles — queue for a 2v2 mode;
// the matcher (on its fake clock) matches them in one pass, pushes
// `matched` over the WebSocket, keeps the party on one team, and each
// player takes its own seat.
func TestTicketQueueMatchesPushesAndSeats(t *testing.T) {
	e := newEnv(t, envOptions{})
	ws := e.dial(e.WS, "a")
	var party, b, c ticket
	e.post("a", "/v1/matchmaking/tickets", `{"mode": "arena-players", "rating": 1500, "region": "eu", "party": ["a2"]}`, 201).decode(t, &party)
	r := e.post("b", "/v1/matchmaking/tickets", `{"mode": "arena-players", "rating": 1520, "region": "eu"}`, 201)
	r.decode(t, &b)
	if loc := r.header.Get("Location"); loc != "/v1/matchmaking/tickets/"+b.TicketID {
		t.Fatalf("Location %q", loc)
	}
	if b.Status != "queued" || b.Window != 100 || b.Players[0] != "b" {
		t.Fatalf("new ticket %+v: want queued, window 100 (the default start)", b)
	}
	// The party member cannot queue on its own, and nobody queues twice.
	if r := e.post("a2", "/v1/matchmaking/tickets", `{"mode": "arena-players"}`, 409); r.code(t) != "ticket_exists" {
		t.Fatalf("party member queueing again: %s", r.body)
	}
	e.post("c", "/v1/matchmaking/tickets", `{"mode": "arena-players", "rating": 1480}`, 201).decode(t, &c)

	e.advance(time.Second)
	got := e.waitTicket(party.TicketID, "a")
	if got.Status != "matched" || got.Reservation == nil || got.Team == nil {
		t.Fatalf("party ticket after a pass: %+v, want matched with a reservation and a team", got)
	}
	mate := e.waitTicket(party.TicketID, "a2")
	if mate.Reservation.SeatToken == got.Reservation.SeatToken || mate.Reservation.RoomID != got.Reservation.RoomID || *mate.Team != *got.Team {
		t.Fatalf("party member sees %+v, want its own seat in the same room on the same team", mate.Reservation)
	}
	gb, gc := e.waitTicket(b.TicketID, "b"), e.waitTicket(c.TicketID, "c")
	if gb.Status != "matched" || gc.Status != "matched" || gb.Reservation.RoomID != got.Reservation.RoomID || *gb.Team == *got.Team || *gc.Team == *got.Team {
		t.Fatalf("singles %+v %+v: want matched in the same room, on the other team", gb, gc)
	}
	if got.Reservation.Code == "" {
		t.Fatal("a match room is private: want a join code")
	}

	m := ws.next(netcode.MsgMatched)
	if m.TicketID != party.TicketID || m.Mode != "arena-players" || m.RoomID != got.Reservation.RoomID ||
		m.SeatToken != got.Reservation.SeatToken || m.ExpiresAt != uint64(got.Reservation.ExpiresAt.UnixMilli()) {
		t.Fatalf("matched message %+v, want the reservation %+v", m, got.Reservation)
	}
	if j := ws.joinSeat(m.SeatToken); j.Type != netcode.MsgJoined || j.RoomID != m.RoomID {
		t.Fatalf("join with the pushed seat token: %+v", j)
	}

	if r := e.call(request{method: "DELETE", path: "/v1/matchmaking/tickets/" + party.TicketID, auth: e.Token(t, "a2")}); r.status != 409 || r.code(t) != "ticket_matched" {
		t.Fatalf("cancel a matched ticket: %d %s, want 409 ticket_matched", r.status, r.body)
	}
	// Matched tickets are not live: the players may queue again.
	e.post("b", "/v1/matchmaking/tickets", `{"mode": "arena-players"}`, 201)

	var stats struct {
		Modes []struct {
			Mode           string  `json:"mode"`
			TicketsWaiting int     `json:"tickets_waiting"`
			MatchesMade    int     `json:"matches_made"`
			PlayersMatched int     `json:"players_matched"`
			Spread         float64 `json:"avg_rating_spread"`
		} `json:"modes"`
	}
	e.call(request{method: "GET", path: "/v1/matchmaking/stats", auth: apiKey}).decode(t, &stats)
	if len(stats.Modes) != 1 || stats.Modes[0].MatchesMade != 1 || stats.Modes[0].PlayersMatched != 4 || stats.Modes[0].TicketsWaiting != 1 || stats.Modes[0].Spread != 40 {
		t.Fatalf("stats %+v: want 1 match of 4 players with spread 40, and b's new ticket waiting", stats)
	}
}

func TestTicketCancelExpireAndVisibility(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *mmConfig) { c.Modes[0].TicketTTL = 3 * time.Second }})
	var a, b ticket
	e.post("a", "/v1/matchmaking/tickets", `{"mode": "arena-players", "party": ["a2"]}`, 201).decode(t, &a)
	if r := e.call(request{method: "GET", path: "/v1/matchmaking/tickets/" + a.TicketID, auth: e.Token(t, "stranger")}); r.status != 404 || r.code(t) != "ticket_not_found" {
		t.Fatalf("a stranger reads a ticket: %d %s, want 404 ticket_not_found", r.status, r.body)
	}
	r := e.call(request{method: "DELETE", path: "/v1/matchmaking/tickets/" + a.TicketID, auth: e.Token(t, "a2")})
	r.decode(t, &a)
	if r.status != 200 || a.Status != "cancelled" {
		t.Fatalf("party member cancels: %d %s", r.status, r.body)
	}
	// Cancelled, the players may queue again; alone, b's ticket expires.
	e.post("b", "/v1/matchmaking/tickets", `{"mode": "arena-players"}`, 201).decode(t, &b)
	for range 3 {
		e.advance(time.Second)
	}
	if got := e.waitTicket(b.TicketID, "b"); got.Status != "expired" || got.WaitMS != 3000 {
		t.Fatalf("lonely ticket after its TTL: %+v, want expired after 3000 ms", got)
	}
	e.post("a", "/v1/matchmaking/tickets", `{"mode": "arena-players"}`, 201)
	if r := e.call(request{method: "DELETE", path: "/v1/matchmaking/tickets/" + b.TicketID, auth: e.Token(t, "b")}); r.status != 200 {
		t.Fatalf("cancelling an expired ticket: %d %s, want 200 and the ticket unchanged", r.status, r.body)
	}
}

func TestReserveSeatsHook(t *testing.T) {
	e := newEnv(t, envOptions{})
	var out struct {
		Reservations []struct {
			PlayerID string `json:"player_id"`
			reservation
		} `json:"reservations"`
	}
	r := e.call(request{method: "POST", path: "/v1/reservations", auth: apiKey,
		body: `{"mode": "arena", "players": ["x", "y", "z"], "metadata": {"table": "7"}}`})
	r.decode(t, &out)
	if r.status != 200 || len(out.Reservations) != 3 || out.Reservations[1].PlayerID != "y" || out.Reservations[0].Code == "" {
		t.Fatalf("reserve 3 seats: %d %s", r.status, r.body)
	}
	roomID := out.Reservations[0].RoomID
	for _, rv := range out.Reservations {
		if rv.RoomID != roomID {
			t.Fatalf("seats in different rooms: %s", r.body)
		}
	}
	r = e.call(request{method: "POST", path: "/v1/reservations", auth: apiKey,
		body: fmt.Sprintf(`{"mode": "arena", "room_id": %q, "players": ["w"]}`, roomID)})
	r.decode(t, &out)
	if r.status != 200 || out.Reservations[0].RoomID != roomID {
		t.Fatalf("reserve into the room: %d %s", r.status, r.body)
	}
	// The seat is the player's: it takes it over the WebSocket.
	ws := e.dial(out.Reservations[0].WSURL, "w")
	if j := ws.joinSeat(out.Reservations[0].SeatToken); j.Type != netcode.MsgJoined || j.RoomID != roomID {
		t.Fatalf("join: %+v", j)
	}
	// All or none: 7 more do not fit in 10 seats holding 4.
	players := `["a","b","c","d","e","f","g"]`
	r = e.call(request{method: "POST", path: "/v1/reservations", auth: apiKey,
		body: fmt.Sprintf(`{"mode": "arena", "room_id": %q, "players": %s}`, roomID, players)})
	if r.status != 409 || r.code(t) != "room_full" {
		t.Fatalf("too many for the room: %d %s, want 409 room_full", r.status, r.body)
	}
}
