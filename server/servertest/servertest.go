// Package servertest runs a real tickroom server on loopback for tests, the
// way net/http/httptest runs an HTTP server: real rooms, real tokens, real
// WebSocket connections, torn down when the test ends.
package servertest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/netcode/client"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server"
	"golang.org/x/time/rate"
)

// Options configure New. Zero fields take the defaults.
type Options struct {
	// Types are the room types; default: arena's "arena" (with pickups)
	// and "arena-players".
	Types []*room.Type
	// NoGuestAuth turns POST /v1/auth/guest off.
	NoGuestAuth bool
	// Clock drives the rooms; nil: the real clock.
	Clock clockwork.Clock
	// Logger; nil: warnings and errors to the test's output.
	Logger *slog.Logger
	// PingInterval and PingTimeout shorten the heartbeat (server.Config).
	PingInterval, PingTimeout time.Duration
	// ReservationTTL shortens seat reservations (room.Config).
	ReservationTTL time.Duration
	// API, if set, builds the handler served under /v1/ (server.Config.API)
	// from the server's parts; the returned close func runs at cleanup,
	// before the rooms stop. Nil: the matchmaking API (see Modes).
	API func(s *Server) (h http.Handler, close func())
	// Modes are the matchmaking ticket queues when API is nil; default one
	// per room type: MaxPlayers = capacity, partial matches of 1 after 1 s,
	// a matcher pass every 100 ms.
	Modes []matchmaking.Mode
	// APIKey enables the backend endpoints of the default matchmaking API.
	APIKey string
}

// Server is a running test server.
type Server struct {
	URL     string // http://127.0.0.1:port
	WS      string // ws://127.0.0.1:port/ws
	Secret  []byte // the token secret
	Tokens  *player.Tokens
	Rooms   *room.Manager
	Players *player.Registry
	Server  *server.Server
}

// New starts a server; it is closed when the test and its subtests end.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if len(o.Types) == 0 {
		for _, ao := range []arena.Options{{Pickups: true}, {}} {
			typ, err := arena.Type(ao)
			if err != nil {
				t.Fatal(err)
			}
			o.Types = append(o.Types, typ)
		}
	}
	s := &Server{Secret: player.RandomSecret()}
	var err error
	if s.Tokens, err = player.NewTokens(player.TokenConfig{Secret: s.Secret}); err != nil {
		t.Fatal(err)
	}
	if s.Rooms, err = room.NewManager(room.Config{Types: o.Types, Clock: o.Clock, Logger: o.Logger, ReservationTTL: o.ReservationTTL}); err != nil {
		t.Fatal(err)
	}
	s.Players = player.NewRegistry()
	// The listener exists before the API is built, so it can know the URL.
	hs := httptest.NewUnstartedServer(nil)
	s.URL = "http://" + hs.Listener.Addr().String()
	s.WS = "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"
	if o.API == nil {
		o.API = func(s *Server) (http.Handler, func()) { return defaultAPI(t, s, o) }
	}
	api, closeAPI := o.API(s)
	s.Server, err = server.New(server.Config{Tokens: s.Tokens, Rooms: s.Rooms, Players: s.Players, GuestAuth: !o.NoGuestAuth,
		Logger: o.Logger, PingInterval: o.PingInterval, PingTimeout: o.PingTimeout, API: api})
	if err != nil {
		closeAPI()
		s.Rooms.Close()
		t.Fatal(err)
	}
	hs.Config.Handler = s.Server.Handler()
	hs.Start()
	t.Cleanup(func() {
		s.Server.Close()
		closeAPI()
		s.Rooms.Close()
		hs.Close()
	})
	return s
}

// Token mints a token for player id.
func (s *Server) Token(t testing.TB, id string) string {
	t.Helper()
	tok, err := s.Tokens.Mint(player.ID(id), id)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// defaultAPI is the matchmaking API with test-friendly queue timings.
func defaultAPI(t testing.TB, s *Server, o Options) (http.Handler, func()) {
	t.Helper()
	modes := o.Modes
	if modes == nil {
		for _, typ := range o.Types {
			c := typ.Config()
			modes = append(modes, matchmaking.Mode{Name: c.Name, MaxPlayers: c.Capacity, MinPlayers: 1, AllowPartial: true, MaxWait: time.Second})
		}
	}
	mm, err := matchmaking.New(matchmaking.Config{Rooms: s.Rooms, Tokens: s.Tokens, Notify: s.Players.Send, Modes: modes,
		APIKey: o.APIKey, PublicURL: s.URL, Clock: o.Clock, Logger: o.Logger, Interval: 100 * time.Millisecond, RateLimit: rate.Inf})
	if err != nil {
		t.Fatal(err)
	}
	return mm.Handler(), mm.Close
}

// CheckReplica reports whether c's replica equals the state its room in
// rooms had at the replica's tick (entities, values and checksum). Call it
// promptly: a room keeps only its recent history.
func CheckReplica(ctx context.Context, rooms *room.Manager, c *client.Client) error {
	got, ok := c.State(nil)
	if !ok {
		return errors.New("servertest: client has no replica")
	}
	r, ok := rooms.Room(got.Room)
	if !ok {
		return fmt.Errorf("servertest: room %s is not running", got.Room)
	}
	want := &netcode.Snapshot{}
	found := false
	var serverTick uint64
	if err := r.Do(ctx, func(rc *room.Ctx) {
		serverTick = rc.Tick()
		if snap := rc.Snapshot(got.Tick); snap != nil {
			want.CopyFrom(snap)
			found = true
		}
	}); err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("servertest: tick %d is no longer in the server's history (server at tick %d)", got.Tick, serverTick)
	}
	if !got.Snapshot.Equal(want) || got.Snapshot.Checksum() != want.Checksum() {
		return fmt.Errorf("servertest: replica at tick %d differs from the server:\n%s\nserver:\n%s", got.Tick, got.Snapshot, want)
	}
	return nil
}
