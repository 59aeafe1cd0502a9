// Package leanbot is a lean tickroom load generator for the arena
// benchmark: players that speak just enough of the protocol
// (docs/PROTOCOL.md) to be the benchmark's load. Each gets a guest token,
// joins a room, sends one input per tick ([dx, dy] as two float64, the
// direction redrawn every 0.5–1.5 s, exactly what `tickroom bot` sends)
// carrying the ack of the newest frame it received, and reads every
// message. It decodes only each frame's tick: no replica, no checksum
// (`tickroom bot` verifies those), so one CPU drives several times more
// players with it than with the SDK bots. The server does the same work
// for both.
package leanbot

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/netcode/client"
)

// Defaults of Config.
const (
	DefaultBots     = 10
	DefaultRoom     = "arena-players"
	DefaultRate     = 20
	DefaultDials    = 25
	DefaultDuration = 10 * time.Second
)

const joinTimeout = 30 * time.Second

// Config configures Run. Zero fields take the defaults above.
type Config struct {
	URL      string        // server HTTP base URL, e.g. http://127.0.0.1:8080 (required)
	Bots     int           // players
	Room     string        // room type to join-or-create
	Rate     float64       // inputs per second per player
	Dials    int           // players connecting at the same time, at most
	Duration time.Duration // how long each player sends inputs once joined
	Seed     uint64        // player i uses the random stream (Seed, i)
}

// Summary is what the players saw. It marshals to the JSON line printed by
// `tickroom-bench leanbots`.
type Summary struct {
	Bots          int     `json:"bots"`
	Connected     int     `json:"connected"` // players that joined a room
	Frames        uint64  `json:"frames"`
	BytesReceived uint64  `json:"bytes_received"` // payload bytes of all server messages
	InputsSent    uint64  `json:"inputs_sent"`
	InputsLate    uint64  `json:"inputs_late"` // schedule slots skipped because a player fell behind
	Errors        uint64  `json:"errors"`      // failed connects, error messages, unexpected closes
	FirstError    string  `json:"first_error,omitempty"`
	DurationS     float64 `json:"duration_s"`
}

// Run runs cfg.Bots players to completion. When ctx ends they stop early
// (leaving cleanly) and the Summary covers what ran. It returns after
// every goroutine it started has exited.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	if cfg.Bots == 0 {
		cfg.Bots = DefaultBots
	}
	if cfg.Room == "" {
		cfg.Room = DefaultRoom
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Dials == 0 {
		cfg.Dials = DefaultDials
	}
	if cfg.Duration == 0 {
		cfg.Duration = DefaultDuration
	}
	switch {
	case cfg.URL == "":
		return Summary{}, errors.New("leanbot: Config.URL is required")
	case cfg.Bots < 0 || cfg.Dials < 0 || cfg.Duration < 0:
		return Summary{}, fmt.Errorf("leanbot: invalid config %+v", cfg)
	case !(cfg.Rate > 0 && cfg.Rate <= 1000):
		return Summary{}, fmt.Errorf("leanbot: Rate is %v inputs/s, must be in (0, 1000]", cfg.Rate)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return Summary{}, fmt.Errorf("leanbot: URL %q: want http(s)://host:port", cfg.URL)
	}
	ws := "ws" + strings.TrimPrefix(strings.TrimSuffix(cfg.URL, "/"), "http") + "/ws"

	g := &gen{cfg: cfg, ws: ws}
	start := time.Now()
	sem := make(chan struct{}, cfg.Dials)
	var wg sync.WaitGroup
	for i := range cfg.Bots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.player(ctx, sem, i, rand.New(rand.NewPCG(cfg.Seed, uint64(i))))
		}()
	}
	wg.Wait()
	s := Summary{
		Bots: cfg.Bots, Connected: int(g.connected.Load()), Frames: g.frames.Load(), BytesReceived: g.bytes.Load(),
		InputsSent: g.sent.Load(), InputsLate: g.late.Load(), Errors: g.errors.Load(),
		DurationS: math.Round(time.Since(start).Seconds()*100) / 100,
	}
	if e := g.firstErr.Load(); e != nil {
		s.FirstError = *e
	}
	return s, nil
}

// gen holds the counters shared by all players.
type gen struct {
	cfg Config
	ws  string

	connected, frames, bytes, sent, late, errors atomic.Uint64
	firstErr                                     atomic.Pointer[string]
}

func (g *gen) fail(err error) {
	g.errors.Add(1)
	s := err.Error()
	g.firstErr.CompareAndSwap(nil, &s)
}

// player runs one player: token, dial, join, inputs, leave.
func (g *gen) player(ctx context.Context, sem chan struct{}, n int, rng *rand.Rand) {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	p, err := g.connect(ctx, n)
	<-sem
	if err != nil {
		if ctx.Err() == nil {
			g.fail(fmt.Errorf("player %d: %w", n, err))
		}
		return
	}
	g.connected.Add(1)
	defer p.close()
	if err := p.play(ctx, rng); err != nil {
		g.fail(fmt.Errorf("player %d: %w", n, err))
	}
}

// connect gets a token, dials and joins; it returns once the player is
// seated.
func (g *gen) connect(ctx context.Context, n int) (*player, error) {
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	token, _, err := client.GuestToken(ctx, g.cfg.URL, fmt.Sprintf("lean-%d", n))
	if err != nil {
		return nil, err
	}
	p := &player{g: g, joined: make(chan struct{}), closed: make(chan struct{}), buf: netcode.NewBuffer(64)}
	ws, _, err := gws.NewClient(p, &gws.ClientOption{
		Addr:             g.ws,
		RequestHeader:    http.Header{"Authorization": {"Bearer " + token}},
		ReadBufferSize:   1024,
		HandshakeTimeout: 10 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	p.ws = ws
	p.readDone = make(chan struct{})
	go func() {
		defer close(p.readDone)
		ws.ReadLoop()
	}()
	netcode.AppendJoin(p.buf, g.cfg.Room, "")
	if err := p.write(); err != nil {
		p.close()
		return nil, fmt.Errorf("join: %w", err)
	}
	select {
	case <-p.joined:
		return p, nil
	case <-p.closed:
		p.close()
		return nil, errors.New("join: connection closed")
	case <-ctx.Done():
		p.close()
		return nil, fmt.Errorf("join: %w", ctx.Err())
	}
}

// player is one connection. The playing goroutine owns buf and writes;
// the read loop (gws) calls the event methods.
type player struct {
	g        *gen
	ws       *gws.Conn
	buf      *netcode.Buffer
	tick     atomic.Uint64 // newest frame tick received: the ack
	joined   chan struct{}
	closed   chan struct{}
	once     sync.Once // closes joined
	closing  sync.Once // closes closed
	leaving  atomic.Bool
	readDone chan struct{}
}

func (p *player) write() error {
	_ = p.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return p.ws.WriteMessage(gws.OpcodeBinary, p.buf.B)
}

// play sends inputs for Duration on the grid start+phase+k·period (a
// random phase spreads the players over the tick); a player that falls
// behind skips the missed slots.
func (p *player) play(ctx context.Context, rng *rand.Rand) error {
	period := time.Duration(float64(time.Second) / p.g.cfg.Rate)
	start := time.Now()
	end := start.Add(p.g.cfg.Duration)
	next := start.Add(time.Duration(rng.Int64N(int64(period))))
	turn := start
	payload := make([]byte, 19) // [dx, dy]: fixarray(2), two float64
	payload[0], payload[1], payload[10] = 0x92, 0xcb, 0xcb
	var seq uint64
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.closed:
			return errors.New("the server closed the connection")
		case <-timer.C:
		}
		now := time.Now()
		if !now.Before(end) {
			return nil
		}
		if !now.Before(turn) {
			a := rng.Float64() * 2 * math.Pi
			binary.BigEndian.PutUint64(payload[2:], math.Float64bits(math.Cos(a)))
			binary.BigEndian.PutUint64(payload[11:], math.Float64bits(math.Sin(a)))
			turn = now.Add(500*time.Millisecond + time.Duration(rng.Int64N(int64(time.Second))))
		}
		seq++
		p.buf.Reset()
		netcode.AppendInput(p.buf, seq, payload, p.tick.Load())
		if err := p.write(); err != nil {
			return fmt.Errorf("input: %w", err)
		}
		p.g.sent.Add(1)
		next = next.Add(period)
		if behind := now.Sub(next); behind >= 0 {
			k := behind/period + 1
			next = next.Add(k * period)
			p.g.late.Add(uint64(k))
		}
		timer.Reset(time.Until(next))
	}
}

// close leaves the room (if the connection is still up) and closes the
// connection, waiting for the read loop to end (bounded).
func (p *player) close() {
	p.leaving.Store(true)
	select {
	case <-p.closed:
	default:
		p.buf.Reset()
		netcode.AppendLeave(p.buf)
		_ = p.write()
		_ = p.ws.WriteClose(1000, nil)
	}
	select {
	case <-p.readDone:
	case <-time.After(3 * time.Second):
		_ = p.ws.NetConn().Close()
		<-p.readDone
	}
}

func (p *player) OnOpen(*gws.Conn) {}

func (p *player) OnClose(*gws.Conn, error) {
	p.closing.Do(func() { close(p.closed) })
}

func (p *player) OnPing(c *gws.Conn, b []byte) { _ = c.WritePong(b) }
func (p *player) OnPong(*gws.Conn, []byte)     {}

// OnMessage reads the message type, and the tick of a frame.
func (p *player) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	b := m.Bytes()
	p.g.bytes.Add(uint64(len(b)))
	t, rest, ok := header(b)
	if !ok {
		p.g.fail(errors.New("undecodable server message"))
		return
	}
	switch netcode.MsgType(t) {
	case netcode.MsgFrame:
		p.g.frames.Add(1)
		if tick, _, ok := readUint(rest); ok {
			p.tick.Store(tick)
		}
	case netcode.MsgJoined:
		p.once.Do(func() { close(p.joined) })
	case netcode.MsgError:
		p.g.fail(fmt.Errorf("server error message: %x", b[:min(len(b), 64)]))
	case netcode.MsgLeft:
		if !p.leaving.Load() {
			p.g.fail(errors.New("left the room unexpectedly"))
		}
	}
}

// header reads a message's array header and its type.
func header(b []byte) (t uint64, rest []byte, ok bool) {
	switch {
	case len(b) == 0:
		return 0, nil, false
	case b[0]&0xf0 == 0x90: // fixarray
		b = b[1:]
	case b[0] == 0xdc && len(b) >= 3: // array 16
		b = b[3:]
	case b[0] == 0xdd && len(b) >= 5: // array 32
		b = b[5:]
	default:
		return 0, nil, false
	}
	return readUint(b)
}

// readUint reads a msgpack unsigned integer.
func readUint(b []byte) (uint64, []byte, bool) {
	if len(b) == 0 {
		return 0, nil, false
	}
	switch c := b[0]; {
	case c < 0x80:
		return uint64(c), b[1:], true
	case c == 0xcc && len(b) >= 2:
		return uint64(b[1]), b[2:], true
	case c == 0xcd && len(b) >= 3:
		return uint64(binary.BigEndian.Uint16(b[1:])), b[3:], true
	case c == 0xce && len(b) >= 5:
		return uint64(binary.BigEndian.Uint32(b[1:])), b[5:], true
	case c == 0xcf && len(b) >= 9:
		return binary.BigEndian.Uint64(b[1:]), b[9:], true
	}
	return 0, nil, false
}
