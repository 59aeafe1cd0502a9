package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// Config configures a Node. Zero fields take the documented defaults.
type Config struct {
	// URL is redis://[:password@]host:port/db or rediss://…; empty starts
	// an embedded miniredis on 127.0.0.1:0 inside this process.
	URL string
	// Prefix of every key and channel; default "tr:".
	Prefix string
	// NodeID names this node; default "n" + 8 random hex digits.
	NodeID string
	// WSURL is this node's public WebSocket URL. Required.
	WSURL string
	// LeaseTTL is how long the node stays alive without renewing; it
	// renews every LeaseTTL/5. Default 10s.
	LeaseTTL time.Duration
	// OpTimeout bounds each Redis call made for a request; default 500ms,
	// or 1s with the embedded miniredis (it runs each script in a fresh
	// gopher-lua state: about 1 ms a Reserve against 0.13 ms on Redis).
	OpTimeout time.Duration
	// MaxMessage caps a direct message's size (bytes); default 1 MiB.
	// Larger messages are refused by Send and dropped by the receiver.
	MaxMessage int
	// QueueSize bounds the owner-write queue; default 8192.
	QueueSize int
	// Clock gives every deadline; nil is the real clock.
	Clock clockwork.Clock
	// Logger; nil discards.
	Logger *slog.Logger
	// Deliver is called on the pub/sub reader goroutine for each message
	// another node sends to a player of this node; it returns how many
	// connections took it. It must not block. Nil drops (counted).
	Deliver func(id player.ID, msg []byte) int
	// Online returns the local players with at least one connection;
	// called on the node's writer goroutine when it re-asserts its state
	// (so it must not wait on the node's own queue). May be nil.
	Online func() []player.ID
	// Owned returns the rooms this node runs; called like Online. May be
	// nil.
	Owned func() []room.OwnedRoom

	// probeEvery is how long the node channel may stay idle before the
	// reader probes it; default 5s (tests shorten it).
	probeEvery time.Duration
}

func (c *Config) setDefaults() error {
	if c.WSURL == "" {
		return errors.New("cluster: Config.WSURL is required")
	}
	if c.Prefix == "" {
		c.Prefix = "tr:"
	}
	if c.NodeID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		c.NodeID = "n" + hex.EncodeToString(b[:])
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = 10 * time.Second
	}
	if c.LeaseTTL < 50*time.Millisecond {
		return errors.New("cluster: Config.LeaseTTL below 50ms")
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = 500 * time.Millisecond
		if c.URL == "" {
			c.OpTimeout = time.Second
		}
	}
	if c.MaxMessage == 0 {
		c.MaxMessage = 1 << 20
	}
	if c.QueueSize == 0 {
		c.QueueSize = 8192
	}
	if c.probeEvery == 0 {
		c.probeEvery = 5 * time.Second
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
