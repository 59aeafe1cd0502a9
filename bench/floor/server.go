// Package floor is the transport floor of the arena benchmark: a bare gws
// server that holds the connections, reads the inputs and writes one
// pre-encoded frame per connection per tick from a tick loop, with no game
// logic, and the load generator that drives it. Whatever tickroom spends
// beyond what this server spends on the same connections and traffic is
// the cost of the game server itself.
package floor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
)

// Defaults of Config.
const (
	DefaultTickRate       = 20
	DefaultFrameSize      = 40
	DefaultReadBufferSize = 1024 // as tickroom's server
	DefaultMaxInput       = 512
)

// LatenessBuckets are the bounds (seconds) of floor_tick_lateness_seconds:
// the same as tickroom_tick_lateness_seconds, so both read the same way.
var LatenessBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005,
	0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1,
}

// Config configures a Server. Zero fields take the defaults above.
type Config struct {
	TickRate       int // ticks per second
	FrameSize      int // bytes of the frame written to every connection each tick
	ReadBufferSize int // gws read buffer per connection
	MaxInput       int // largest client message accepted
	Logger         *slog.Logger
}

// Server is the floor server. Connections are accepted at GET /ws; GET
// /metrics reports its counters in the Prometheus text format. Run owns
// the tick loop. Safe for concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	upgrader *gws.Upgrader
	frame    []byte // written to every connection, never modified

	mu    sync.Mutex // guards conns
	conns map[*gws.Conn]struct{}

	ticks, overruns, sentMsgs, sentBytes, inputs, inputBytes atomic.Uint64
	lateness                                                 [22]atomic.Uint64 // per bucket (not cumulative), the last is +Inf
	latenessSumNs                                            atomic.Int64
}

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.TickRate == 0 {
		cfg.TickRate = DefaultTickRate
	}
	if cfg.FrameSize == 0 {
		cfg.FrameSize = DefaultFrameSize
	}
	if cfg.ReadBufferSize == 0 {
		cfg.ReadBufferSize = DefaultReadBufferSize
	}
	if cfg.MaxInput == 0 {
		cfg.MaxInput = DefaultMaxInput
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TickRate < 0 || cfg.TickRate > 1000 || cfg.FrameSize < 0 || cfg.ReadBufferSize < 0 || cfg.MaxInput < 0 {
		return nil, fmt.Errorf("floor: invalid config %+v", cfg)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, conns: map[*gws.Conn]struct{}{}, frame: make([]byte, cfg.FrameSize)}
	for i := range s.frame {
		s.frame[i] = byte(i)
	}
	s.upgrader = gws.NewUpgrader(handler{s}, &gws.ServerOption{
		ReadMaxPayloadSize: cfg.MaxInput,
		ReadBufferSize:     cfg.ReadBufferSize,
		HandshakeTimeout:   5 * time.Second,
	})
	return s, nil
}

// Handler serves GET /ws and GET /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		ws, err := s.upgrader.Upgrade(w, r)
		if err != nil {
			return
		}
		go ws.ReadLoop()
	})
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	return mux
}

// Run ticks until ctx ends, then closes every connection. Each tick
// starts at start + n·interval; a tick that starts more than one interval
// late skips the missed slots (counted as overruns) instead of bursting.
// Every tick hands the same pre-encoded frame to each connection's gws
// write queue (WriteAsync): the tick goroutine never writes to a socket.
func (s *Server) Run(ctx context.Context) error {
	interval := time.Second / time.Duration(s.cfg.TickRate)
	start := time.Now()
	var conns []*gws.Conn
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for n := int64(1); ; n++ {
		ideal := start.Add(time.Duration(n) * interval)
		timer.Reset(time.Until(ideal))
		select {
		case <-ctx.Done():
			s.closeAll()
			return nil
		case <-timer.C:
		}
		late := time.Since(ideal)
		if late >= interval {
			skip := int64(late / interval)
			s.overruns.Add(uint64(skip))
			n += skip
		}
		s.observe(late)
		s.ticks.Add(1)

		s.mu.Lock()
		conns = conns[:0]
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		for _, c := range conns {
			c.WriteAsync(gws.OpcodeBinary, s.frame, nil)
		}
		s.sentMsgs.Add(uint64(len(conns)))
		s.sentBytes.Add(uint64(len(conns) * len(s.frame)))
		clear(conns) // do not keep closed connections alive until the next tick
	}
}

func (s *Server) observe(late time.Duration) {
	sec := late.Seconds()
	i := 0
	for i < len(LatenessBuckets) && sec > LatenessBuckets[i] {
		i++
	}
	s.lateness[i].Add(1)
	s.latenessSumNs.Add(int64(late))
}

func (s *Server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_ = c.WriteClose(1001, nil)
	}
}

func (s *Server) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	conns := len(s.conns)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	b := make([]byte, 0, 2048)
	counter := func(name string, v uint64) {
		b = fmt.Appendf(b, "# TYPE %s counter\n%s %d\n", name, name, v)
	}
	b = fmt.Appendf(b, "# TYPE floor_connections gauge\nfloor_connections %d\n", conns)
	counter("floor_ticks_total", s.ticks.Load())
	counter("floor_tick_overruns_total", s.overruns.Load())
	counter("floor_sent_messages_total", s.sentMsgs.Load())
	counter("floor_sent_bytes_total", s.sentBytes.Load())
	counter("floor_inputs_total", s.inputs.Load())
	counter("floor_input_bytes_total", s.inputBytes.Load())
	rm := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(rm)
	counter("floor_alloc_bytes_total", rm[0].Value.Uint64())
	counter("floor_gc_cycles_total", rm[1].Value.Uint64())
	b = append(b, "# TYPE floor_tick_lateness_seconds histogram\n"...)
	var cum uint64
	for i := range s.lateness {
		cum += s.lateness[i].Load()
		le := "+Inf"
		if i < len(LatenessBuckets) {
			le = strconv.FormatFloat(LatenessBuckets[i], 'g', -1, 64)
		}
		b = fmt.Appendf(b, "floor_tick_lateness_seconds_bucket{le=%q} %d\n", le, cum)
	}
	b = fmt.Appendf(b, "floor_tick_lateness_seconds_sum %g\nfloor_tick_lateness_seconds_count %d\n",
		time.Duration(s.latenessSumNs.Load()).Seconds(), cum)
	_, _ = w.Write(b)
}

// handler receives gws events for every connection of a Server.
type handler struct{ s *Server }

func (h handler) OnOpen(c *gws.Conn) {
	h.s.mu.Lock()
	h.s.conns[c] = struct{}{}
	h.s.mu.Unlock()
}

func (h handler) OnClose(c *gws.Conn, err error) {
	h.s.mu.Lock()
	delete(h.s.conns, c)
	h.s.mu.Unlock()
	var ce *gws.CloseError
	if err != nil && !errors.As(err, &ce) {
		h.s.log.Debug("floor: connection closed", "err", err)
	}
}

func (handler) OnPing(c *gws.Conn, payload []byte) { _ = c.WritePong(payload) }
func (handler) OnPong(*gws.Conn, []byte)           {}

// OnMessage counts the input and drops it: the floor has no game.
func (h handler) OnMessage(_ *gws.Conn, m *gws.Message) {
	h.s.inputs.Add(1)
	h.s.inputBytes.Add(uint64(m.Data.Len()))
	_ = m.Close()
}
