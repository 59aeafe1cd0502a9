package server

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the server's Prometheus metrics, served at GET /metrics.
// Create them before the room.Manager so its tick hook can feed them:
//
//	m := server.NewMetrics()
//	rooms, _ := room.NewManager(room.Config{OnTick: m.ObserveTick, ...})
//	srv, _ := server.New(server.Config{Metrics: m, ...})
//
// Safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	lateness prometheus.Histogram
	overruns prometheus.Counter

	// Written per socket write; kept as plain atomics (cheaper than a
	// prometheus counter on the write path) and exported by CounterFuncs.
	sentMessages, sentBytes atomic.Uint64

	drops   *prometheus.CounterVec // by reason (drop*)
	dropBy  [numDrops]prometheus.Counter
	limited *prometheus.CounterVec // rate-limit hits by kind
	resumes *prometheus.CounterVec // by outcome
	refused *prometheus.CounterVec // handshakes refused by reason
	closes  *prometheus.CounterVec // server-initiated closes by code
}

// Drop reasons of tickroom_drops_total.
const (
	dropFrame     = iota // a state frame skipped for a connection (outbox full)
	dropControl          // a control message the connection caused, refused (it is then closed)
	dropPush             // a push (direct message, matched, cross-node delivery) refused: recipient busy
	dropSlowClose        // a connection closed as a slow consumer
	numDrops
)

var dropNames = [numDrops]string{"frame_skipped", "control_dropped", "push_dropped", "slow_close"}

// TickLatenessBuckets are the bucket bounds (seconds) of
// tickroom_tick_lateness_seconds: fine below 5 ms, where a healthy server is.
var TickLatenessBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005,
	0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1,
}

// NewMetrics returns the metrics in a fresh registry (with the Go runtime
// and process collectors).
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tickroom_tick_lateness_seconds",
			Help:    "How late each room tick started against its ideal time on the tick grid.",
			Buckets: TickLatenessBuckets,
		}),
		overruns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickroom_tick_overruns_total",
			Help: "Tick grid slots skipped because a tick started more than one interval late.",
		}),
	}
	m.drops = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tickroom_drops_total",
		Help: "Messages dropped and connections cut, by reason: frame_skipped, control_dropped, push_dropped (recipient busy), slow_close."}, []string{"reason"})
	for i, n := range dropNames {
		m.dropBy[i] = m.drops.WithLabelValues(n)
	}
	m.limited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tickroom_rate_limited_total",
		Help: "Requests refused by a rate limit, by kind: input, ack, msg, ping, session (WebSocket messages), guest (POST /v1/auth/guest)."}, []string{"kind"})
	m.resumes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tickroom_resumes_total",
		Help: "Resume requests by outcome: ok, expired, rejected, redirected, throttled, gone, unavailable, error."}, []string{"outcome"})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tickroom_handshakes_refused_total",
		Help: "WebSocket handshakes refused before the upgrade, by reason: unauthorized, origin, conns_total, conns_address, draining."}, []string{"reason"})
	m.closes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tickroom_closes_total",
		Help: "Connections closed by the server, by WebSocket close code."}, []string{"code"})
	m.reg.MustRegister(m.lateness, m.overruns, m.drops, m.limited, m.resumes, m.refused, m.closes,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tickroom_sent_messages_total", Help: "WebSocket messages written to clients."},
			func() float64 { return float64(m.sentMessages.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tickroom_sent_bytes_total", Help: "Payload bytes of the WebSocket messages written to clients (framing excluded)."},
			func() float64 { return float64(m.sentBytes.Load()) }),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Register adds collectors of other parts of the process (the cluster's
// counters) to the registry served at /metrics.
func (m *Metrics) Register(cs ...prometheus.Collector) { m.reg.MustRegister(cs...) }

// wrote counts one message written to a client.
func (m *Metrics) wrote(n int) {
	m.sentMessages.Add(1)
	m.sentBytes.Add(uint64(n))
}

// The methods below are no-ops on a nil *Metrics.

func (m *Metrics) drop(reason int) {
	if m != nil {
		m.dropBy[reason].Inc()
	}
}

func (m *Metrics) rateLimited(kind string) {
	if m != nil {
		m.limited.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) resume(outcome string) {
	if m != nil {
		m.resumes.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) refuse(reason string) {
	if m != nil {
		m.refused.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) closed(code uint16) {
	if m != nil {
		m.closes.WithLabelValues(strconv.Itoa(int(code))).Inc()
	}
}

// ObserveTick records one tick's lateness; it is room.Config.OnTick.
func (m *Metrics) ObserveTick(late time.Duration, skipped int64) {
	m.lateness.Observe(late.Seconds())
	if skipped > 0 {
		m.overruns.Add(float64(skipped))
	}
}

// register adds the server's own gauges, read when scraped.
func (m *Metrics) register(s *Server) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tickroom_connections", Help: "Open WebSocket connections."},
			func() float64 {
				s.mu.Lock()
				defer s.mu.Unlock()
				return float64(len(s.conns))
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tickroom_rooms", Help: "Running rooms."},
			func() float64 { return float64(len(s.cfg.Rooms.Rooms())) }),
	)
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
