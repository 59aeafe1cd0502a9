package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/tickroom/tickroom/netcode/client"
)

// A bot that joins an arena room, walks right for a second and prints where
// it ended up, as seen in its verified replica.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	token, id, err := client.GuestToken(ctx, "http://127.0.0.1:8080", "Ada")
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.Dial(ctx, client.Config{URL: "ws://127.0.0.1:8080/ws", Token: token})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	if _, err := c.Join(ctx, "arena", ""); err != nil {
		log.Fatal(err) // e.g. a *client.ServerError with Code "room_full"
	}
	var last uint64
	for range 20 {
		if last, err = c.SendInput([]float64{1, 0}); err != nil { // arena input: [dx, dy]
			log.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // one input per tick at 20 Hz
	}
	// Wait until the server has applied the last input.
	if err := c.Wait(ctx, func(s client.State) bool { return s.InputSeq >= last }); err != nil {
		log.Fatal(err)
	}
	st, _ := c.State(nil)
	for i := 0; i < st.Snapshot.Len(); i++ {
		if e := st.Snapshot.At(i); e.Kind == 0 && e.Str(0) == id { // arena player: id, name, x, y, ...
			fmt.Println("tick", st.Tick, "x", e.Int(2), "y", e.Int(3))
		}
	}
}

// A client that survives network drops: with Reconnect set, a lost
// connection is redialed with full-jitter backoff and the seat resumed
// within the server's grace window; inputs sent meanwhile are delivered
// after the resume.
func ExampleReconnectPolicy() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Config{
		URL:       "ws://127.0.0.1:8080/ws",
		Token:     "…",
		Reconnect: &client.ReconnectPolicy{}, // defaults: 100 ms base, 2 s cap, 20 s window
		OnResumed: func(info client.ResumeInfo) {
			log.Printf("back in %s after %v (%d attempts)", info.Room, info.Duration, info.Attempts)
		},
		OnLost: func(err error) { log.Printf("seat lost: %v", err) }, // e.g. resume_expired
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close() // leaves the room first
	if _, err := c.Join(ctx, "arena", ""); err != nil {
		log.Fatal(err)
	}
	for range 100 {
		if _, err := c.SendInput([]float64{1, 0}); err != nil { // does not fail while reconnecting
			log.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Quick match through the matchmaking API: a seat reservation, then the
// WebSocket it names, then the seat.
func ExampleJoinOrCreate() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	base := "http://127.0.0.1:8080"
	token, _, err := client.GuestToken(ctx, base, "Ada")
	if err != nil {
		log.Fatal(err)
	}
	res, err := client.JoinOrCreate(ctx, base, token, "arena", map[string]string{"map": "dust"})
	if err != nil {
		log.Fatal(err) // e.g. a *client.HTTPError with Code "unknown_mode"
	}
	c, err := client.Dial(ctx, client.Config{URL: res.WSURL, Token: token, Reconnect: &client.ReconnectPolicy{}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if _, err := c.JoinSeat(ctx, res.SeatToken); err != nil {
		log.Fatal(err) // e.g. a *client.ServerError with Code "seat_expired": reserve again
	}
}

// A ticket queue: connect first, so the match is pushed (OnMatched); the
// ticket can be polled as well (GetTicket).
func ExampleCreateTicket() {
	ctx := context.Background()
	base, token := "http://127.0.0.1:8080", "…"
	matched := make(chan client.Matched, 1)
	c, err := client.Dial(ctx, client.Config{URL: "ws://127.0.0.1:8080/ws", Token: token,
		OnMatched: func(m client.Matched) { matched <- m }}) // runs on the reader: hand off, never JoinSeat here
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	rating := 1640.0
	if _, err := client.CreateTicket(ctx, base, token, client.TicketRequest{Mode: "arena", Rating: &rating}); err != nil {
		log.Fatal(err) // e.g. 409 ticket_exists
	}
	m := <-matched
	if _, err := c.JoinSeat(ctx, m.SeatToken); err != nil {
		log.Fatal(err)
	}
}
