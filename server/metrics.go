package server

import (
	"net/http"
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
}

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
	m.reg.MustRegister(m.lateness, m.overruns,
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
