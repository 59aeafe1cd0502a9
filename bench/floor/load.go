package floor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
)

// Defaults of LoadConfig.
const (
	DefaultConns     = 10
	DefaultRate      = 20
	DefaultInputSize = 12
	DefaultDials     = 25
	DefaultDuration  = 10 * time.Second
)

// LoadConfig configures RunLoad. Zero fields take the defaults above.
type LoadConfig struct {
	URL       string        // ws://host:port/ws (required)
	Conns     int           // connections
	Rate      float64       // inputs per second per connection
	InputSize int           // bytes of each input (a binary message)
	Dials     int           // connections being opened at the same time, at most
	Duration  time.Duration // how long each connection sends inputs once connected
	Seed      uint64        // seeds each connection's schedule phase
}

// LoadSummary is what the load generator saw. It marshals to the JSON
// object printed by `tickroom-floor load`.
type LoadSummary struct {
	Conns          int     `json:"conns"`
	Connected      int     `json:"connected"`
	InputsSent     uint64  `json:"inputs_sent"`
	InputsLate     uint64  `json:"inputs_late"` // schedule slots skipped because a sender fell behind
	FramesReceived uint64  `json:"frames_received"`
	BytesReceived  uint64  `json:"bytes_received"`
	Errors         uint64  `json:"errors"`
	FirstError     string  `json:"first_error,omitempty"`
	DurationS      float64 `json:"duration_s"`
}

// RunLoad opens cfg.Conns WebSocket connections, each sending one
// cfg.InputSize-byte binary message every 1/cfg.Rate s on a drift-free
// schedule with a random phase, and reading (and counting) whatever the
// server sends, for cfg.Duration after it connected. When ctx ends the
// connections stop early; the summary covers what ran. It returns after
// every goroutine it started has exited.
func RunLoad(ctx context.Context, cfg LoadConfig) (LoadSummary, error) {
	if cfg.Conns == 0 {
		cfg.Conns = DefaultConns
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.InputSize == 0 {
		cfg.InputSize = DefaultInputSize
	}
	if cfg.Dials == 0 {
		cfg.Dials = DefaultDials
	}
	if cfg.Duration == 0 {
		cfg.Duration = DefaultDuration
	}
	switch {
	case cfg.URL == "":
		return LoadSummary{}, errors.New("floor: LoadConfig.URL is required")
	case cfg.Conns < 0, cfg.Dials < 0, cfg.InputSize < 0, cfg.Duration < 0:
		return LoadSummary{}, fmt.Errorf("floor: invalid load config %+v", cfg)
	case !(cfg.Rate > 0 && cfg.Rate <= 1000):
		return LoadSummary{}, fmt.Errorf("floor: Rate is %v inputs/s, must be in (0, 1000]", cfg.Rate)
	}
	l := &load{cfg: cfg, input: make([]byte, cfg.InputSize)}
	start := time.Now()
	sem := make(chan struct{}, cfg.Dials)
	var wg sync.WaitGroup
	for i := range cfg.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.conn(ctx, sem, rand.New(rand.NewPCG(cfg.Seed, uint64(i))))
		}()
	}
	wg.Wait()
	s := LoadSummary{
		Conns: cfg.Conns, Connected: int(l.connected.Load()),
		InputsSent: l.sent.Load(), InputsLate: l.late.Load(),
		FramesReceived: l.frames.Load(), BytesReceived: l.bytes.Load(),
		Errors: l.errors.Load(), DurationS: time.Since(start).Seconds(),
	}
	if e := l.firstErr.Load(); e != nil {
		s.FirstError = *e
	}
	return s, nil
}

type load struct {
	cfg   LoadConfig
	input []byte // sent by every connection, never modified

	connected, sent, late, frames, bytes, errors atomic.Uint64
	firstErr                                     atomic.Pointer[string]
}

func (l *load) fail(err error) {
	l.errors.Add(1)
	s := err.Error()
	l.firstErr.CompareAndSwap(nil, &s)
}

// conn runs one connection: dial, send inputs for Duration, close.
func (l *load) conn(ctx context.Context, sem chan struct{}, rng *rand.Rand) {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	h := &clientHandler{l: l, closed: make(chan struct{})}
	ws, _, err := gws.NewClient(h, &gws.ClientOption{
		Addr:             l.cfg.URL,
		ReadBufferSize:   1024,
		HandshakeTimeout: 10 * time.Second,
	})
	<-sem
	if err != nil {
		if ctx.Err() == nil {
			l.fail(err)
		}
		return
	}
	l.connected.Add(1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		ws.ReadLoop()
	}()
	defer func() {
		_ = ws.SetWriteDeadline(time.Now().Add(time.Second))
		_ = ws.WriteClose(1000, nil)
		select { // the server answers the close; do not wait for ever
		case <-readDone:
		case <-time.After(2 * time.Second):
			_ = ws.NetConn().Close()
			<-readDone
		}
	}()

	period := time.Duration(float64(time.Second) / l.cfg.Rate)
	now := time.Now()
	end := now.Add(l.cfg.Duration)
	next := now.Add(time.Duration(rng.Int64N(int64(period))))
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.closed:
			l.fail(errors.New("floor: server closed the connection"))
			return
		case <-timer.C:
		}
		now := time.Now()
		if !now.Before(end) {
			return
		}
		_ = ws.SetWriteDeadline(now.Add(5 * time.Second))
		if err := ws.WriteMessage(gws.OpcodeBinary, l.input); err != nil {
			l.fail(err)
			return
		}
		l.sent.Add(1)
		next = next.Add(period)
		if behind := now.Sub(next); behind >= 0 {
			k := behind/period + 1
			next = next.Add(k * period)
			l.late.Add(uint64(k))
		}
		timer.Reset(time.Until(next))
	}
}

// clientHandler counts what one connection receives.
type clientHandler struct {
	l      *load
	once   sync.Once
	closed chan struct{}
}

func (h *clientHandler) OnOpen(*gws.Conn) {}
func (h *clientHandler) OnClose(*gws.Conn, error) {
	h.once.Do(func() { close(h.closed) })
}
func (h *clientHandler) OnPing(c *gws.Conn, p []byte) { _ = c.WritePong(p) }
func (h *clientHandler) OnPong(*gws.Conn, []byte)     {}
func (h *clientHandler) OnMessage(_ *gws.Conn, m *gws.Message) {
	h.l.frames.Add(1)
	h.l.bytes.Add(uint64(m.Data.Len()))
	_ = m.Close()
}
