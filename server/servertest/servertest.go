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
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/netcode/client"
	"github.com/tickroom/tickroom/node"
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
	// Clock drives the rooms, reservations, leases and the matcher; nil:
	// the real clock.
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
	// Redis is the cluster's store URL; empty: an embedded miniredis of
	// this server alone. Servers of one test sharing a Redis (and Secret)
	// form a cluster.
	Redis string
	// RedisPrefix separates clusters sharing a Redis; default "tr:".
	RedisPrefix string
	// Secret is the token secret; nil: a random one. Nodes of a cluster
	// share theirs.
	Secret []byte
	// NodeID names the node; default random.
	NodeID string
	// LeaseTTL shortens the node lease (cluster.Config).
	LeaseTTL time.Duration
	// StoreTimeout bounds each store call of a request (node.Config);
	// default 10s: tests run many servers at once under the race
	// detector, where a script on the embedded store can take many
	// milliseconds, and a test must not fail because the machine is slow.
	StoreTimeout time.Duration
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
	Node    *node.Node
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
	modes := o.Modes
	if modes == nil {
		for _, typ := range o.Types {
			c := typ.Config()
			modes = append(modes, matchmaking.Mode{Name: c.Name, MaxPlayers: c.Capacity, MinPlayers: 1, AllowPartial: true, MaxWait: time.Second})
		}
	}
	if o.StoreTimeout == 0 {
		o.StoreTimeout = 10 * time.Second
	}
	s := &Server{Secret: o.Secret}
	if len(s.Secret) == 0 {
		s.Secret = player.RandomSecret()
	}
	cfg := node.Config{Secret: s.Secret, GuestAuth: !o.NoGuestAuth, Types: o.Types, Modes: modes, APIKey: o.APIKey,
		MatchInterval: 100 * time.Millisecond, MatchRateLimit: rate.Inf, ReservationTTL: o.ReservationTTL,
		PingInterval: o.PingInterval, PingTimeout: o.PingTimeout, Clock: o.Clock, Logger: o.Logger,
		Redis: o.Redis, RedisPrefix: o.RedisPrefix, NodeID: o.NodeID, LeaseTTL: o.LeaseTTL, StoreTimeout: o.StoreTimeout}
	if o.API != nil {
		cfg.API = func(n *node.Node) (http.Handler, func()) { s.fill(n); return o.API(s) }
	}
	n, err := node.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.fill(n)
	s.Server = n.Server
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("servertest: close: %v", err)
		}
	})
	return s
}

// fill copies the node's parts that exist once the API is built.
func (s *Server) fill(n *node.Node) {
	s.Node, s.URL, s.WS, s.Tokens, s.Rooms, s.Players = n, n.URL, n.WS, n.Tokens, n.Rooms, n.Players
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
