package client_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/netcode/client"
	"github.com/tickroom/tickroom/server"
	"github.com/tickroom/tickroom/server/servertest"
	"github.com/vmihailenco/msgpack/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testServer is a real tickroom server on loopback.
type testServer struct {
	*servertest.Server
	HTTP string // http://127.0.0.1:port
}

// startServer runs a server with the arena room types ("arena" with
// pickups, "arena-players" without) until the test ends.
func startServer(t *testing.T) *testServer {
	t.Helper()
	s := servertest.New(t, servertest.Options{})
	return &testServer{Server: s, HTTP: s.URL}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// guest fetches a guest token.
func (s *testServer) guest(t *testing.T, name string) (token, id string) {
	t.Helper()
	token, id, err := client.GuestToken(testCtx(t), s.HTTP, name)
	if err != nil {
		t.Fatalf("GuestToken: %v", err)
	}
	return token, id
}

// dial connects with token; the client is closed when the test ends.
func (s *testServer) dial(t *testing.T, token string, cfg client.Config) *client.Client {
	t.Helper()
	cfg.URL, cfg.Token = s.WS, token
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	c, err := client.Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// ownPlayer finds the arena player entity of player id.
func ownPlayer(s *netcode.Snapshot, id string) (netcode.Entity, bool) {
	if s == nil {
		return netcode.Entity{}, false
	}
	for i := 0; i < s.Len(); i++ {
		e := s.At(i)
		if e.Kind == arena.KindPlayer && e.Str(arena.FieldID) == id {
			return e, true
		}
	}
	return netcode.Entity{}, false
}

func TestDialJoinFullSnapshotHasOwnPlayer(t *testing.T) {
	s := startServer(t)
	tok, id := s.guest(t, "Ada")
	c := s.dial(t, tok, client.Config{})
	if c.PlayerID() != id || c.Name() != "Ada" {
		t.Fatalf("welcome: got player %q name %q, want %q %q", c.PlayerID(), c.Name(), id, "Ada")
	}
	ctx := testCtx(t)
	info, err := c.Join(ctx, "arena", "")
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	if info.RoomID == "" || info.RoomType != "arena" || info.TickRate != 20 || info.Schema.MaskWidth() != 6 {
		t.Fatalf("Join: got %+v, want an arena room at 20 Hz with W=6", info)
	}
	// The state after at least one more tick holds our player.
	err = c.Wait(ctx, func(st client.State) bool {
		_, ok := ownPlayer(st.Snapshot, id)
		return st.Tick > info.Tick && ok
	})
	if err != nil {
		t.Fatalf("waiting for a tick with our player: %v", err)
	}
	st, ok := c.State(nil)
	if !ok || st.Room != info.RoomID {
		t.Fatalf("State: got %+v ok=%v, want room %s", st, ok, info.RoomID)
	}
	p, ok := ownPlayer(st.Snapshot, id)
	if !ok {
		t.Fatalf("State has no player %s:\n%s", id, st.Snapshot)
	}
	if p.Str(arena.FieldName) != "Ada" || p.Int(arena.FieldHP) != arena.StartHP {
		t.Errorf("own player: got name %q hp %d, want Ada %d", p.Str(arena.FieldName), p.Int(arena.FieldHP), arena.StartHP)
	}
	if st.Snapshot.Checksum() == netcode.EmptyChecksum {
		t.Errorf("replica checksum is the empty state's")
	}
	stats := c.Stats()
	if stats.Snapshots < 1 || stats.Desyncs != 0 || stats.Applied < 2 {
		t.Errorf("stats: got %+v, want ≥1 snapshot, ≥2 applied, no desync", stats)
	}
}

func TestInputsMovePlayerAndAreAcknowledged(t *testing.T) {
	s := startServer(t)
	tok, id := s.guest(t, "mover")
	c := s.dial(t, tok, client.Config{})
	ctx := testCtx(t)
	if _, err := c.SendInput([]float64{1, 0}); !errors.Is(err, client.ErrNotInRoom) {
		t.Fatalf("SendInput before Join: got %v, want ErrNotInRoom", err)
	}
	if _, err := c.Join(ctx, "arena-players", ""); err != nil {
		t.Fatalf("Join: %v", err)
	}
	// The first frame is the room's latest tick, captured before our seat
	// existed; our avatar appears at the next tick.
	var x0 int64
	err := c.Wait(ctx, func(st client.State) bool {
		p, ok := ownPlayer(st.Snapshot, id)
		x0 = p.Int(arena.FieldX)
		return ok
	})
	if err != nil {
		t.Fatalf("waiting for our player: %v", err)
	}
	dx := 1.0 // move toward the middle, away from the wall
	if x0 > arena.Size/2 {
		dx = -1
	}

	const n = 10
	var last uint64
	for i := range n {
		seq, err := c.SendInput([]float64{dx, 0})
		if err != nil {
			t.Fatalf("SendInput: %v", err)
		}
		if seq != uint64(i+1) {
			t.Fatalf("SendInput #%d: got seq %d, want %d", i+1, seq, i+1)
		}
		last = seq
	}
	var x int64
	err = c.Wait(ctx, func(st client.State) bool {
		p, ok := ownPlayer(st.Snapshot, id)
		x = p.Int(arena.FieldX)
		return ok && st.InputSeq == last && x != x0
	})
	if err != nil {
		st, _ := c.State(nil)
		t.Fatalf("waiting for input_seq %d and a move from x=%d: %v (state: input_seq %d, x %d)", last, x0, err, st.InputSeq, x)
	}
	if (x-x0)*int64(dx) <= 0 {
		t.Errorf("x went from %d to %d, want it to move by dx=%v", x0, x, dx)
	}
	if got := c.Stats(); got.InputsSent != n || got.Desyncs != 0 {
		t.Errorf("stats: got %+v, want %d inputs, no desync", got, n)
	}
}

func TestJoinUnknownRoomTypeKeepsConnection(t *testing.T) {
	s := startServer(t)
	tok, _ := s.guest(t, "lost")
	var other []*client.ServerError
	var mu sync.Mutex
	c := s.dial(t, tok, client.Config{OnError: func(e *client.ServerError) {
		mu.Lock()
		other = append(other, e)
		mu.Unlock()
	}})
	ctx := testCtx(t)

	_, err := c.Join(ctx, "no-such-game", "")
	var se *client.ServerError
	if !errors.As(err, &se) || se.Code != netcode.CodeUnknownRoomType || se.Ref != netcode.MsgJoin {
		t.Fatalf("Join unknown type: got %v, want a *ServerError %s for join", err, netcode.CodeUnknownRoomType)
	}
	_, err = c.Join(ctx, "", "rNOSUCHROOM")
	if !errors.As(err, &se) || se.Code != netcode.CodeRoomNotFound {
		t.Fatalf("Join unknown room id: got %v, want %s", err, netcode.CodeRoomNotFound)
	}
	info, err := c.Join(ctx, "arena", "")
	if err != nil {
		t.Fatalf("Join arena after the refusals: %v", err)
	}
	if _, ok := c.State(nil); !ok {
		t.Fatalf("no replica after Join")
	}
	// Joining again while seated is refused and changes nothing.
	if _, err := c.Join(ctx, "arena", info.RoomID); !errors.As(err, &se) || se.Code != netcode.CodeAlreadyInRoom {
		t.Fatalf("second Join: got %v, want %s", err, netcode.CodeAlreadyInRoom)
	}
	if st, ok := c.State(nil); !ok || st.Room != info.RoomID {
		t.Fatalf("after the refused join: got room %q ok=%v, want %s", st.Room, ok, info.RoomID)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(other) != 0 {
		t.Errorf("OnError got %v; join errors must go to Join only", other)
	}
}

func TestDirectMessageReachesEveryConnectionOfThePlayer(t *testing.T) {
	s := startServer(t)
	tokA, idA := s.guest(t, "twice")
	tokB, idB := s.guest(t, "sender")

	type got struct{ from, text string }
	recv := make(chan got, 8)
	onMsg := func(conn string) func(from string, payload []byte) {
		return func(from string, payload []byte) {
			var text string
			if err := msgpack.Unmarshal(payload, &text); err != nil {
				text = "undecodable: " + err.Error()
			}
			select {
			case recv <- got{from, conn + ":" + text}:
			default:
			}
		}
	}
	a1 := s.dial(t, tokA, client.Config{OnMessage: onMsg("a1")})
	a2 := s.dial(t, tokA, client.Config{OnMessage: onMsg("a2")})
	if a1.PlayerID() != idA || a2.PlayerID() != idA {
		t.Fatalf("both connections must be player %s: got %s, %s", idA, a1.PlayerID(), a2.PlayerID())
	}
	offline := make(chan *client.ServerError, 1)
	b := s.dial(t, tokB, client.Config{OnError: func(e *client.ServerError) {
		select {
		case offline <- e:
		default:
		}
	}})

	if err := b.SendMsg(idA, "hello"); err != nil {
		t.Fatalf("SendMsg: %v", err)
	}
	seen := map[string]bool{}
	timeout := time.After(5 * time.Second)
	for len(seen) < 2 {
		select {
		case g := <-recv:
			if g.from != idB {
				t.Fatalf("message from %q, want %q", g.from, idB)
			}
			seen[g.text] = true
		case <-timeout:
			t.Fatalf("messages received: %v, want a1:hello and a2:hello", seen)
		}
	}
	if !seen["a1:hello"] || !seen["a2:hello"] {
		t.Fatalf("messages received: %v, want a1:hello and a2:hello", seen)
	}

	// A player with no connection: player_offline, through OnError.
	if err := b.SendMsg("g_nobody", 1); err != nil {
		t.Fatalf("SendMsg: %v", err)
	}
	select {
	case e := <-offline:
		if e.Code != netcode.CodePlayerOffline || e.Ref != netcode.MsgMsg {
			t.Fatalf("got %v, want %s for msg", e, netcode.CodePlayerOffline)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no player_offline error")
	}
}

func TestDialBadTokenIsHTTP401(t *testing.T) {
	s := startServer(t)
	for _, tc := range []struct{ name, token string }{
		{"garbage", "not-a-jwt"},
		{"forged", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ.c2lnbmF0dXJl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.Dial(testCtx(t), client.Config{URL: s.WS, Token: tc.token})
			if err == nil {
				_ = c.Close()
				t.Fatal("Dial succeeded with a bad token")
			}
			var he *client.HTTPError
			if !errors.As(err, &he) || he.StatusCode != 401 {
				t.Fatalf("got %v, want an *HTTPError with status 401", err)
			}
			if !strings.Contains(err.Error(), "401") || he.Code != "unauthorized" {
				t.Errorf("error %q (code %q): want it to show 401 and code unauthorized", err, he.Code)
			}
		})
	}
}

func TestLeaveThenRejoin(t *testing.T) {
	s := startServer(t)
	tok, _ := s.guest(t, "leaver")
	left := make(chan string, 4)
	c := s.dial(t, tok, client.Config{OnLeft: func(_, reason string) { left <- reason }})
	ctx := testCtx(t)
	if err := c.Leave(ctx); !errors.Is(err, client.ErrNotInRoom) {
		t.Fatalf("Leave without a seat: got %v, want ErrNotInRoom", err)
	}
	if _, err := c.Join(ctx, "arena", ""); err != nil {
		t.Fatalf("Join: %v", err)
	}
	if _, err := c.SendInput([]float64{0, 1}); err != nil {
		t.Fatalf("SendInput: %v", err)
	}
	if err := c.Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if r := <-left; r != "leave" {
		t.Errorf("OnLeft reason: got %q, want leave", r)
	}
	if _, ok := c.State(nil); ok {
		t.Errorf("State after Leave: want no replica")
	}
	if _, err := c.SendInput([]float64{0, 1}); !errors.Is(err, client.ErrNotInRoom) {
		t.Errorf("SendInput after Leave: got %v, want ErrNotInRoom", err)
	}
	if _, err := c.Join(ctx, "arena-players", ""); err != nil {
		t.Fatalf("Join after Leave: %v", err)
	}
	seq, err := c.SendInput([]float64{0, 1})
	if err != nil || seq != 1 {
		t.Fatalf("first input in the new seat: got seq %d err %v, want 1", seq, err)
	}
	if err := c.Wait(ctx, func(st client.State) bool { return st.InputSeq == 1 }); err != nil {
		t.Fatalf("waiting for input_seq 1 in the new room: %v", err)
	}
}

func TestPing(t *testing.T) {
	s := startServer(t)
	tok, _ := s.guest(t, "pinger")
	c := s.dial(t, tok, client.Config{})
	for range 3 {
		rtt, err := c.Ping(testCtx(t))
		if err != nil || rtt <= 0 {
			t.Fatalf("Ping: got %v, %v", rtt, err)
		}
	}
}

func TestServerCloseEndsClient(t *testing.T) {
	s := startServer(t)
	tok, _ := s.guest(t, "closed")
	c := s.dial(t, tok, client.Config{})
	ctx := testCtx(t)
	if _, err := c.Join(ctx, "arena", ""); err != nil {
		t.Fatalf("Join: %v", err)
	}
	s.Server.Server.Close()
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("client still open after the server closed")
	}
	var ce *client.CloseError
	if err := c.Err(); !errors.As(err, &ce) || ce.Code != server.CloseGoingAway {
		t.Fatalf("Err: got %v, want a *CloseError with code %d", c.Err(), server.CloseGoingAway)
	}
	if _, err := c.SendInput([]float64{1, 1}); !errors.Is(err, client.ErrClosed) && !errors.Is(err, client.ErrNotInRoom) {
		t.Errorf("SendInput after the close: got %v, want ErrClosed or ErrNotInRoom", err)
	}
	if err := c.SendMsg(c.PlayerID(), "x"); !errors.Is(err, client.ErrClosed) {
		t.Errorf("SendMsg after the close: got %v, want ErrClosed", err)
	}
	if err := c.Wait(ctx, func(client.State) bool { return false }); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Wait after the close: got %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil || c.Err() == nil {
		t.Errorf("Close after the server's close: got %v, Err %v", err, c.Err())
	}
}

func TestCloseIsIdempotentAndErrNil(t *testing.T) {
	s := startServer(t)
	tok, _ := s.guest(t, "bye")
	c := s.dial(t, tok, client.Config{})
	for range 2 {
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if c.Err() != nil {
		t.Errorf("Err after Close: got %v, want nil", c.Err())
	}
	if _, err := c.Join(testCtx(t), "arena", ""); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Join after Close: got %v, want ErrClosed", err)
	}
}

func TestDialCanceled(t *testing.T) {
	s := startServer(t)
	tok, _ := s.guest(t, "late")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if c, err := client.Dial(ctx, client.Config{URL: s.WS, Token: tok}); err == nil {
		_ = c.Close()
		t.Fatal("Dial with a canceled context succeeded")
	}
}

func TestWebSocketURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1:8080", "ws://127.0.0.1:8080/ws"},
		{"http://127.0.0.1:8080/", "ws://127.0.0.1:8080/ws"},
		{"https://example.com/game", "wss://example.com/game/ws"},
		{"ws://h:1/ws", "ws://h:1/ws"},
		{"ftp://h", ""},
		{"http://", ""},
	} {
		got, err := client.WebSocketURL(tc.in)
		if (err != nil) != (tc.want == "") || got != tc.want {
			t.Errorf("WebSocketURL(%q): got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestRequestSnapshotGetsFullFrame(t *testing.T) {
	s := startServer(t)
	tok, _ := s.guest(t, "resync")
	full := make(chan uint64, 64)
	c := s.dial(t, tok, client.Config{OnFrame: func(f client.Frame) {
		if f.Age == 0 {
			select {
			case full <- f.Tick:
			default:
			}
		}
	}})
	ctx := testCtx(t)
	info, err := c.Join(ctx, "arena", "")
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	if first := <-full; first != info.Tick {
		t.Fatalf("first full frame at tick %d, Join said %d", first, info.Tick)
	}
	// Wait until deltas flow, then ask for a snapshot.
	if err := c.Wait(ctx, func(st client.State) bool { return st.Tick >= info.Tick+3 }); err != nil {
		t.Fatal(err)
	}
	if d := c.Stats().Deltas; d == 0 {
		t.Fatalf("no delta after 3 ticks")
	}
	st, _ := c.State(nil)
	before := c.Stats().Snapshots
	c.RequestSnapshot()
	for got := false; !got; {
		select {
		case tick := <-full:
			got = tick > st.Tick
		case <-ctx.Done():
			t.Fatal("no full frame after RequestSnapshot")
		}
	}
	// Deltas resume after the snapshot.
	deltas := c.Stats().Deltas
	if err := c.Wait(ctx, func(s client.State) bool { return s.Tick >= st.Tick+5 }); err != nil {
		t.Fatal(err)
	}
	if got := c.Stats(); got.Desyncs != 0 || got.Snapshots <= before || got.Deltas <= deltas {
		t.Errorf("stats: got %+v, want a new snapshot, more deltas and no desync", got)
	}
}
