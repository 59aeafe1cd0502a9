// Package servertest runs a real tickroom server on loopback for tests, the
// way net/http/httptest runs an HTTP server: real rooms, real tokens, real
// WebSocket connections, torn down when the test ends.
package servertest

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server"
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
}

// Server is a running test server.
type Server struct {
	URL    string // http://127.0.0.1:port
	WS     string // ws://127.0.0.1:port/ws
	Secret []byte // the token secret
	Tokens *player.Tokens
	Rooms  *room.Manager
	Server *server.Server
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
	if s.Rooms, err = room.NewManager(room.Config{Types: o.Types, Clock: o.Clock, Logger: o.Logger}); err != nil {
		t.Fatal(err)
	}
	s.Server, err = server.New(server.Config{Tokens: s.Tokens, Rooms: s.Rooms, GuestAuth: !o.NoGuestAuth, Logger: o.Logger,
		PingInterval: o.PingInterval, PingTimeout: o.PingTimeout})
	if err != nil {
		s.Rooms.Close()
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Server.Handler())
	s.URL = hs.URL
	s.WS = "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	t.Cleanup(func() {
		s.Server.Close()
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
