package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/netcode/client"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server/servertest"
)

// wantHTTPError checks that err is an *HTTPError with status and code.
func wantHTTPError(t *testing.T, what string, err error, status int, code string) *client.HTTPError {
	t.Helper()
	var he *client.HTTPError
	if !errors.As(err, &he) || he.StatusCode != status || he.Code != code {
		t.Fatalf("%s: got %v, want an *HTTPError %d %s", what, err, status, code)
	}
	if he.Message == "" {
		t.Errorf("%s: %v has no message", what, he)
	}
	return he
}

// wantSeatError checks that err is a *ServerError with code answering a join.
func wantSeatError(t *testing.T, what string, err error, code string) {
	t.Helper()
	var se *client.ServerError
	if !errors.As(err, &se) || se.Code != code || se.Ref != netcode.MsgJoin {
		t.Fatalf("%s: got %v, want a *ServerError %s for join", what, err, code)
	}
}

// dialURL connects to url (a reservation's ws_url) with token; the client
// is closed when the test ends.
func dialURL(t *testing.T, url, token string, cfg client.Config) *client.Client {
	t.Helper()
	cfg.URL, cfg.Token = url, token
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	c, err := client.Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("Dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestJoinOrCreateThenJoinSeat(t *testing.T) {
	s := startServer(t)
	tok, id := s.guest(t, "Ada")
	ctx := testCtx(t)

	res, err := client.JoinOrCreate(ctx, s.HTTP, tok, "arena", nil, client.WithIdempotencyKey("first"))
	if err != nil {
		t.Fatalf("JoinOrCreate: %v", err)
	}
	if res.RoomID == "" || res.Mode != "arena" || res.WSURL != s.WS || res.SeatToken == "" || !res.ExpiresAt.After(time.Now()) || res.Code != "" {
		t.Fatalf("reservation %+v: want a live public arena seat on %s", res, s.WS)
	}
	// A retry with the same Idempotency-Key gets the same reservation.
	again, err := client.JoinOrCreate(ctx, s.HTTP, tok, "arena", nil, client.WithIdempotencyKey("first"))
	if err != nil || again != res {
		t.Fatalf("JoinOrCreate replay: got %+v, %v; want the first reservation %+v", again, err, res)
	}

	c := dialURL(t, res.WSURL, tok, client.Config{})
	info, err := c.JoinSeat(ctx, res.SeatToken)
	if err != nil {
		t.Fatalf("JoinSeat: %v", err)
	}
	if info.RoomID != res.RoomID || info.RoomType != "arena" || info.Schema == nil {
		t.Fatalf("JoinSeat: got %+v, want room %s of arena", info, res.RoomID)
	}
	err = c.Wait(ctx, func(st client.State) bool {
		_, ok := ownPlayer(st.Snapshot, id)
		return st.Tick > info.Tick && ok
	})
	if err != nil {
		t.Fatalf("waiting for a tick with our player: %v", err)
	}
	if c.ResumeToken() == "" {
		t.Error("no resume token after joining with a seat token")
	}
	// The room counts exactly this seat.
	rooms, err := client.ListRooms(ctx, s.HTTP, tok, "arena")
	if err != nil || len(rooms) != 1 || rooms[0].RoomID != res.RoomID || rooms[0].Players != 1 || rooms[0].Capacity != 10 {
		t.Fatalf("ListRooms: got %+v, %v; want room %s with 1 of 10 seats", rooms, err, res.RoomID)
	}
}

// TestJoinSeatRefusals: a bad, used, someone else's or expired seat token
// is a typed error, and the connection stays usable.
func TestJoinSeatRefusals(t *testing.T) {
	s := servertest.New(t, servertest.Options{ReservationTTL: 300 * time.Millisecond, Logger: testLogger(t)})
	tokA, _ := guestOn(t, s.URL, "A")
	tokB, _ := guestOn(t, s.URL, "B")
	ctx := testCtx(t)
	a := dialURL(t, s.WS, tokA, client.Config{})
	b := dialURL(t, s.WS, tokB, client.Config{})

	_, err := a.JoinSeat(ctx, "s-no-such-token")
	wantSeatError(t, "unknown token", err, netcode.CodeSeatInvalid)
	if _, err := a.JoinSeat(ctx, ""); err == nil {
		t.Fatal("JoinSeat with an empty token: got no error")
	}

	// B's reservation is refused to A and stays valid for B.
	resB, err := client.JoinOrCreate(ctx, s.URL, tokB, "arena-players", nil)
	if err != nil {
		t.Fatalf("JoinOrCreate B: %v", err)
	}
	_, err = a.JoinSeat(ctx, resB.SeatToken)
	wantSeatError(t, "someone else's token", err, netcode.CodeSeatInvalid)
	if _, err := b.JoinSeat(ctx, resB.SeatToken); err != nil {
		t.Fatalf("B's own JoinSeat after A's attempt: %v", err)
	}

	// An expired reservation: its seat is freed, the token says so.
	resA, err := client.JoinOrCreate(ctx, s.URL, tokA, "arena", nil)
	if err != nil {
		t.Fatalf("JoinOrCreate A: %v", err)
	}
	waitRoomEmpty(t, ctx, s.Rooms, resA.RoomID)
	_, err = a.JoinSeat(ctx, resA.SeatToken)
	wantSeatError(t, "expired token", err, netcode.CodeSeatExpired)

	// The connection is still usable: a fresh reservation is taken on it,
	// and a used token cannot be taken again, not even by its owner.
	resA, err = client.JoinOrCreate(ctx, s.URL, tokA, "arena", nil)
	if err != nil {
		t.Fatalf("JoinOrCreate A again: %v", err)
	}
	info, err := a.JoinSeat(ctx, resA.SeatToken)
	if err != nil || info.RoomID != resA.RoomID {
		t.Fatalf("JoinSeat after the refusals: got %+v, %v; want room %s", info, err, resA.RoomID)
	}
	if err := a.Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	_, err = a.JoinSeat(ctx, resA.SeatToken)
	wantSeatError(t, "used token", err, netcode.CodeSeatInvalid)
	if st := a.Stats(); st.Errors != 4 {
		t.Errorf("client counted %d error messages, want 4", st.Errors)
	}
}

// waitRoomEmpty waits until room id holds no seat nor reservation (or is
// gone): an expired reservation freed its seat.
func waitRoomEmpty(t *testing.T, ctx context.Context, rooms *room.Manager, id string) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		empty := true
		for _, r := range rooms.Rooms() {
			if r.ID == id && r.Players > 0 {
				empty = false
			}
		}
		if empty {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("room %s still has its reserved seat: %v", id, ctx.Err())
		}
	}
}

func guestOn(t *testing.T, base, name string) (token, id string) {
	t.Helper()
	token, id, err := client.GuestToken(testCtx(t), base, name)
	if err != nil {
		t.Fatalf("GuestToken: %v", err)
	}
	return token, id
}

// TestJoinSeatResumesAfterKill: a seat taken with a seat token is resumed
// like any other after the connection dies.
func TestJoinSeatResumesAfterKill(t *testing.T) {
	s := startServer(t)
	tok, _ := s.guest(t, "phoenix")
	ctx := testCtx(t)
	res, err := client.JoinOrCreate(ctx, s.HTTP, tok, "arena", nil)
	if err != nil {
		t.Fatalf("JoinOrCreate: %v", err)
	}
	ev := newEvents()
	cfg := client.Config{Reconnect: &client.ReconnectPolicy{Window: 5 * time.Second}}
	ev.hook(&cfg)
	c := dialURL(t, res.WSURL, tok, cfg)
	if _, err := c.JoinSeat(ctx, res.SeatToken); err != nil {
		t.Fatalf("JoinSeat: %v", err)
	}
	last := sendAndSettle(t, ctx, c, 3)
	if !c.KillConnection() {
		t.Fatal("KillConnection: no connection")
	}
	ev.await(t, ctx, "OnResumed", func() bool { return len(ev.resumed) == 1 })
	ev.mu.Lock()
	ri := ev.resumed[0]
	ev.mu.Unlock()
	if ri.Room != res.RoomID {
		t.Errorf("resumed %+v, want room %s", ri, res.RoomID)
	}
	if next := sendAndSettle(t, ctx, c, 1); next != last+1 {
		t.Errorf("input after the resume got seq %d, want %d", next, last+1)
	}
	if err := servertest.CheckReplica(ctx, s.Rooms, c); err != nil {
		t.Error(err)
	}
	if n, conn := seats(ctx, t, s.Rooms, res.RoomID); n != 1 || conn != 1 {
		t.Errorf("room has %d seats (%d connected), want the one seat, connected", n, conn)
	}
}

// TestTicketMatchedPush: two players queue in a 2-player mode; both get
// the matched push on their connection, the ticket carries the same seat,
// and the seats put them in one room.
func TestTicketMatchedPush(t *testing.T) {
	s := servertest.New(t, servertest.Options{Logger: testLogger(t),
		Modes: []matchmaking.Mode{{Name: "arena-players", MaxPlayers: 2}}})
	ctx := testCtx(t)
	type player struct {
		tok, id string
		c       *client.Client
		pushed  chan client.Matched
		ticket  client.Ticket
	}
	ps := make([]*player, 2)
	for i := range ps {
		p := &player{pushed: make(chan client.Matched, 1)}
		p.tok, p.id = guestOn(t, s.URL, "queuer")
		p.c = dialURL(t, s.WS, p.tok, client.Config{OnMatched: func(m client.Matched) { p.pushed <- m }})
		ps[i] = p
	}
	rating := 1500.0
	var err error
	ps[0].ticket, err = client.CreateTicket(ctx, s.URL, ps[0].tok, client.TicketRequest{Mode: "arena-players", Rating: &rating})
	if err != nil {
		t.Fatalf("CreateTicket: %v", err)
	}
	if tk := ps[0].ticket; tk.ID == "" || tk.Status != client.TicketQueued || tk.Mode != "arena-players" || tk.Rating != 1500 ||
		len(tk.Players) != 1 || tk.Players[0] != ps[0].id || tk.Reservation != nil {
		t.Fatalf("CreateTicket: got %+v, want a queued ticket of %s", tk, ps[0].id)
	}
	// One live ticket per player and mode.
	_, err = client.CreateTicket(ctx, s.URL, ps[0].tok, client.TicketRequest{Mode: "arena-players"})
	wantHTTPError(t, "second ticket", err, http.StatusConflict, "ticket_exists")
	// Nobody else reads it.
	_, err = client.GetTicket(ctx, s.URL, ps[1].tok, ps[0].ticket.ID)
	wantHTTPError(t, "someone else's ticket", err, http.StatusNotFound, "ticket_not_found")

	rating = 1540
	if ps[1].ticket, err = client.CreateTicket(ctx, s.URL, ps[1].tok, client.TicketRequest{Mode: "arena-players", Rating: &rating}); err != nil {
		t.Fatalf("CreateTicket: %v", err)
	}
	var room string
	for i, p := range ps {
		var m client.Matched
		select {
		case m = <-p.pushed:
		case <-ctx.Done():
			t.Fatalf("player %d: no matched push: %v", i, ctx.Err())
		}
		if m.TicketID != p.ticket.ID || m.Mode != "arena-players" || m.RoomID == "" || m.SeatToken == "" || !m.ExpiresAt.After(time.Now()) {
			t.Fatalf("player %d: pushed %+v, want its ticket %s matched", i, m, p.ticket.ID)
		}
		tk, err := client.GetTicket(ctx, s.URL, p.tok, p.ticket.ID)
		if err != nil {
			t.Fatalf("GetTicket: %v", err)
		}
		if tk.Status != client.TicketMatched || tk.Reservation == nil || tk.Reservation.SeatToken != m.SeatToken ||
			tk.Reservation.RoomID != m.RoomID || tk.Reservation.WSURL != s.WS || !tk.Reservation.ExpiresAt.Truncate(time.Millisecond).Equal(m.ExpiresAt) {
			t.Fatalf("player %d: ticket %+v (reservation %+v), want matched with the pushed seat %+v", i, tk, tk.Reservation, m)
		}
		_, err = client.CancelTicket(ctx, s.URL, p.tok, p.ticket.ID)
		wantHTTPError(t, "cancel a matched ticket", err, http.StatusConflict, "ticket_matched")
		info, err := p.c.JoinSeat(ctx, m.SeatToken)
		if err != nil {
			t.Fatalf("player %d: JoinSeat: %v", i, err)
		}
		if room == "" {
			room = info.RoomID
		}
		if info.RoomID != room || info.RoomID != m.RoomID {
			t.Errorf("player %d: seated in %s, want %s with the other player", i, info.RoomID, m.RoomID)
		}
		if st := p.c.Stats(); st.Matched != 1 {
			t.Errorf("player %d: Stats.Matched %d, want 1", i, st.Matched)
		}
	}
}

func TestTicketCancel(t *testing.T) {
	s := startServer(t)
	tok, _ := s.guest(t, "patient")
	ctx := testCtx(t)
	// Default test modes match a lonely ticket after 1 s; cancel it first.
	tk, err := client.CreateTicket(ctx, s.HTTP, tok, client.TicketRequest{Mode: "arena", Region: "eu"})
	if err != nil {
		t.Fatalf("CreateTicket: %v", err)
	}
	if tk.Rating != 1500 || tk.Region != "eu" {
		t.Errorf("ticket %+v: want the default rating 1500, region eu", tk)
	}
	got, err := client.CancelTicket(ctx, s.HTTP, tok, tk.ID)
	if err != nil && !isMatched(err) {
		t.Fatalf("CancelTicket: %v", err)
	}
	if err == nil && got.Status != client.TicketCancelled {
		t.Fatalf("CancelTicket: got status %q, want cancelled", got.Status)
	}
}

func isMatched(err error) bool {
	var he *client.HTTPError
	return errors.As(err, &he) && he.Code == "ticket_matched"
}

func TestPrivateRoomByCode(t *testing.T) {
	s := startServer(t)
	tokA, _ := s.guest(t, "host")
	tokB, _ := s.guest(t, "friend")
	ctx := testCtx(t)
	res, err := client.CreateRoom(ctx, s.HTTP, tokA, client.CreateRoomRequest{Mode: "arena-players", Private: true,
		Metadata: map[string]string{"name": "Ada's room"}})
	if err != nil || res.Code == "" {
		t.Fatalf("CreateRoom: got %+v, %v; want a private room with a code", res, err)
	}
	resB, err := client.JoinRoom(ctx, s.HTTP, tokB, client.JoinRoomRequest{Code: res.Code})
	if err != nil || resB.RoomID != res.RoomID {
		t.Fatalf("JoinRoom by code: got %+v, %v; want room %s", resB, err, res.RoomID)
	}
	if rooms, err := client.ListRooms(ctx, s.HTTP, tokB, ""); err != nil || len(rooms) != 0 {
		t.Fatalf("ListRooms: got %+v, %v; want no public room", rooms, err)
	}
	for _, r := range []struct {
		tok string
		res client.Reservation
	}{{tokA, res}, {tokB, resB}} {
		c := dialURL(t, r.res.WSURL, r.tok, client.Config{})
		if info, err := c.JoinSeat(ctx, r.res.SeatToken); err != nil || info.RoomID != res.RoomID {
			t.Fatalf("JoinSeat: got %+v, %v; want room %s", info, err, res.RoomID)
		}
	}
}

// TestAPIErrors: refusals are *HTTPErrors with the status and the code of
// the server's {code, message} body.
func TestAPIErrors(t *testing.T) {
	s := startServer(t)
	tok, _ := s.guest(t, "clumsy")
	ctx := testCtx(t)

	_, err := client.JoinOrCreate(ctx, s.HTTP, tok, "no-such-game", nil)
	wantHTTPError(t, "unknown mode", err, http.StatusNotFound, "unknown_mode")
	_, err = client.JoinOrCreate(ctx, s.HTTP, "not-a-token", "arena", nil)
	wantHTTPError(t, "bad token", err, http.StatusUnauthorized, "unauthorized")
	_, err = client.JoinRoom(ctx, s.HTTP, tok, client.JoinRoomRequest{Code: "ZZZZZZ"})
	wantHTTPError(t, "unknown code", err, http.StatusNotFound, "room_not_found")
	_, err = client.JoinRoom(ctx, s.HTTP, tok, client.JoinRoomRequest{})
	wantHTTPError(t, "neither room_id nor code", err, http.StatusBadRequest, "bad_request")
	_, err = client.GetTicket(ctx, s.HTTP, tok, "t-no-such-ticket")
	wantHTTPError(t, "unknown ticket", err, http.StatusNotFound, "ticket_not_found")
	_, err = client.CreateTicket(ctx, s.HTTP, tok, client.TicketRequest{Mode: "no-such-game"})
	wantHTTPError(t, "ticket for an unknown mode", err, http.StatusNotFound, "unknown_mode")
	_, err = client.JoinOrCreate(ctx, s.HTTP, tok, "arena", nil, client.WithIdempotencyKey("k"))
	if err != nil {
		t.Fatalf("JoinOrCreate: %v", err)
	}
	_, err = client.JoinOrCreate(ctx, s.HTTP, tok, "arena-players", nil, client.WithIdempotencyKey("k"))
	wantHTTPError(t, "idempotency key reused", err, http.StatusUnprocessableEntity, "idempotency_mismatch")

	// A server that is not there: a plain error, not an *HTTPError.
	_, err = client.JoinOrCreate(ctx, "http://127.0.0.1:1", tok, "arena", nil)
	var he *client.HTTPError
	if err == nil || errors.As(err, &he) {
		t.Fatalf("JoinOrCreate on a closed port: got %v, want a transport error", err)
	}
}

// TestRateLimitedCarriesRetryAfter: a 429 tells when to retry.
func TestRateLimitedCarriesRetryAfter(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"code":"rate_limited","message":"too many requests; retry later"}`))
	}))
	defer hs.Close()
	hc := &http.Client{}
	defer hc.CloseIdleConnections()
	_, err := client.CreateTicket(testCtx(t), hs.URL, "tok", client.TicketRequest{Mode: "arena"}, client.WithHTTPClient(hc))
	he := wantHTTPError(t, "rate limited", err, http.StatusTooManyRequests, "rate_limited")
	if he.RetryAfter != 2*time.Second {
		t.Errorf("RetryAfter %v, want 2s", he.RetryAfter)
	}
}
