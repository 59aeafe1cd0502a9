package bench

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// A command name with spaces and parentheses; utime=1500, stime=250.
	line := "4242 (tick (room) srv) S 17 4242 4242 0 -1 4194560 1234 0 0 0 1500 250 0 0 20 0 9 0 12345 123456789 2345 18446744073709551615\n"
	got, err := ParseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := ProcStat{Comm: "tick (room) srv", PPID: 17, UTime: 1500, STime: 250}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got.CPU() != 1750 {
		t.Errorf("CPU() = %d, want 1750", got.CPU())
	}
	for _, bad := range []string{"", "12 no-parens S 1", "12 (x) S 1 2 3"} {
		if _, err := ParseProcStat([]byte(bad)); err == nil {
			t.Errorf("ParseProcStat(%q): no error", bad)
		}
	}
	// The real thing, for this process.
	self, err := ReadProcStat(os.Getpid())
	if err != nil {
		t.Fatalf("ReadProcStat(self): %v", err)
	}
	if self.Comm == "" {
		t.Error("own comm is empty")
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\ttickroom\nVmPeak:\t 1265612 kB\nVmHWM:\t   30212 kB\nVmRSS:\t   28736 kB\nThreads:\t9\n"
	for key, want := range map[string]uint64{"VmRSS": 28736, "VmHWM": 30212} {
		got, err := ParseStatusKB([]byte(status), key)
		if err != nil || got != want {
			t.Errorf("%s: got %d, %v; want %d", key, got, err, want)
		}
	}
	if _, err := ParseStatusKB([]byte(status), "VmSwap"); err == nil {
		t.Error("missing key: no error")
	}
	if _, err := ParseStatusKB([]byte(status), "Threads"); err == nil {
		t.Error("a line without kB: no error")
	}
}

func TestParseSysCPU(t *testing.T) {
	got, err := ParseSysCPU([]byte("cpu  100 5 50 800 10 1 2 3 0 0\ncpu0 50 2 25 400 5 0 1 1 0 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := SysCPU{User: 105, System: 50, Idle: 810, IRQ: 3, Steal: 3}
	if got != want || got.Total() != 971 {
		t.Errorf("got %+v (total %d), want %+v (971)", got, got.Total(), want)
	}
}

func TestOtherCPU(t *testing.T) {
	before := ProcTable{
		10: {Comm: "server", UTime: 100},
		20: {Comm: "go", UTime: 1000},
		30: {Comm: "node", UTime: 50},
		40: {Comm: "kworker/0:1", PPID: 2, UTime: 10},
		50: {Comm: "old", UTime: 500},
	}
	after := ProcTable{
		10: {Comm: "server", UTime: 300},              // ours: left out
		20: {Comm: "go", UTime: 1040},                 // +40
		30: {Comm: "node", UTime: 50, STime: 10},      // +10
		40: {Comm: "kworker/0:1", PPID: 2, UTime: 30}, // kernel +20
		50: {Comm: "new", UTime: 20},                  // PID reused: +20 from zero
		60: {Comm: "gopls", UTime: 5},                 // appeared: +5
	}
	got := OtherCPU(before, after, map[int]bool{10: true}, 2)
	// 75 ticks in 2 s = 37.5 % of a core; kernel 20 ticks = 10 %.
	want := Others{Pct: 37.5, Kernel: 10, Seconds: 2, Top: []string{"go:20.0", "new:10.0", "node:5.0"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

const metricsText = `# HELP tickroom_tick_lateness_seconds How late each room tick started.
# TYPE tickroom_tick_lateness_seconds histogram
tickroom_tick_lateness_seconds_bucket{le="0.001"} 50
tickroom_tick_lateness_seconds_bucket{le="0.002"} 90
tickroom_tick_lateness_seconds_bucket{le="0.005"} 99
tickroom_tick_lateness_seconds_bucket{le="0.01"} 100
tickroom_tick_lateness_seconds_bucket{le="+Inf"} 100
tickroom_tick_lateness_seconds_sum 0.1
tickroom_tick_lateness_seconds_count 100
# TYPE tickroom_sent_bytes_total counter
tickroom_sent_bytes_total 4.710024e+06
tickroom_connections 500
go_info{version="go1.26 \"x\"\\y"} 1
http_requests{code="200",method="get"} 7 1700000000000
`

func TestParseMetrics(t *testing.T) {
	sc, err := ParseMetrics(metricsText)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := sc.Value("tickroom_sent_bytes_total"); !ok || v != 4710024 {
		t.Errorf("sent bytes: got %v %v, want 4710024", v, ok)
	}
	if v, ok := sc.Value("tickroom_connections"); !ok || v != 500 {
		t.Errorf("connections: got %v %v", v, ok)
	}
	if _, ok := sc.Value("go_info"); ok {
		t.Error("Value found a sample that has labels")
	}
	var info, req Sample
	for _, s := range sc {
		switch s.Name {
		case "go_info":
			info = s
		case "http_requests":
			req = s
		}
	}
	if got := info.Labels["version"]; got != `go1.26 "x"\y` {
		t.Errorf("escaped label: got %q", got)
	}
	if req.Value != 7 || req.Labels["method"] != "get" || req.Labels["code"] != "200" {
		t.Errorf("sample with timestamp: got %+v", req)
	}
	h, err := sc.Histogram("tickroom_tick_lateness_seconds")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Buckets) != 5 || !math.IsInf(h.Buckets[4].Le, 1) || h.Count != 100 || h.Sum != 0.1 {
		t.Errorf("histogram: got %+v", h)
	}
	for _, bad := range []string{"novalue", `x{le="1} 2`, "x 1 2 3", `x{a=1} 2`} {
		if _, err := ParseMetrics(bad); err == nil {
			t.Errorf("ParseMetrics(%q): no error", bad)
		}
	}
}

func hist(les []float64, counts ...float64) Histogram {
	h := Histogram{}
	for i, le := range les {
		h.Buckets = append(h.Buckets, Bucket{Le: le, Count: counts[i]})
	}
	h.Count = counts[len(counts)-1]
	return h
}

func TestQuantileAndMax(t *testing.T) {
	inf := math.Inf(1)
	les := []float64{0.001, 0.002, 0.005, 0.01, inf}
	h := hist(les, 50, 90, 99, 100, 100)
	for _, tc := range []struct {
		q, want float64
	}{
		{0.5, 0.001},    // exactly the first bucket's bound
		{0.25, 0.0005},  // halfway into [0, 0.001]
		{0.7, 0.0015},   // rank 70 is halfway through [0.001, 0.002] (50..90)
		{0.99, 0.005},   // the third bucket's top
		{0.995, 0.0075}, // halfway into [0.005, 0.01]
		{1, 0.01},       // the top
	} {
		if got := h.Quantile(tc.q); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := h.Max(); got != 0.01 {
		t.Errorf("Max() = %v, want 0.01 (the highest non-empty bucket's bound)", got)
	}

	// Observations beyond the last finite bound.
	over := hist(les, 0, 0, 0, 98, 100)
	if got := over.Quantile(0.99); got != 0.01 {
		t.Errorf("quantile in the +Inf bucket = %v, want the highest finite bound 0.01", got)
	}
	if got := over.Max(); !math.IsInf(got, 1) {
		t.Errorf("Max() = %v, want +Inf", got)
	}
	empty := hist(les, 0, 0, 0, 0, 0)
	if !math.IsNaN(empty.Quantile(0.5)) || !math.IsNaN(empty.Max()) {
		t.Error("empty histogram: want NaN")
	}

	// Sub: the window is the difference of two cumulative reads.
	later := hist(les, 100, 180, 198, 200, 200)
	d, err := later.Sub(h)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Buckets, h.Buckets) || d.Count != 100 {
		t.Errorf("Sub: got %+v, want %+v", d, h)
	}
	if _, err := later.Sub(hist(les[:4], 1, 2, 3, 4)); err == nil {
		t.Error("Sub of histograms with different buckets: no error")
	}
}

func TestLastJSONLine(t *testing.T) {
	got, err := lastJSONLine("progress\n{\"a\":1}\nnoise\n{\"b\":2}\n\n")
	if err != nil || got != `{"b":2}` {
		t.Errorf("got %q, %v", got, err)
	}
	if _, err := lastJSONLine("no json here\n"); err == nil {
		t.Error("no JSON: no error")
	}
}

func TestComparisonFill(t *testing.T) {
	c := Comparison{
		Tickroom: Result{Players: 500, Rooms: 50, CPUPerPlayerTick: 30, BytesPerPlayerTick: 40, LatenessP99: 1.5, RSSMB: 30, TicksPerRoom: 400},
		Colyseus: map[string]any{
			"peer": "colyseus", "cpu_us_per_player_tick": 60.0, "rx_payload_bytes_per_client_s": 2000.0,
			"ticks_per_room": 400.0, "window_s": 20.0, "tick_interval_ms_p99": 56.0, "tick_ms": 50.0,
			"server_rss_mb": 120.0, "contended": false,
		},
	}
	if err := c.fill(); err != nil {
		t.Fatal(err)
	}
	// 2000 B/s ÷ 20 ticks/s = 100 B per player-tick; lateness 56 − 50 = 6 ms.
	if c.CPURatio != 0.5 || c.TheirBytes != 100 || c.BytesRatio != 0.4 || c.TheirLatenessP99 != 6 ||
		c.LatenessRatio != 0.25 || c.RSSRatio != 0.25 || c.Players != 500 {
		t.Errorf("got %+v", c)
	}
	delete(c.Colyseus, "tick_ms")
	if err := c.fill(); err == nil {
		t.Error("missing Colyseus field: no error")
	}
}

func TestSyncDir(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "node_modules", "x"), 0o755))
	must(os.WriteFile(filepath.Join(src, "node_modules", "x", "big.js"), []byte("skip"), 0o644))
	must(os.MkdirAll(filepath.Join(src, "results"), 0o755))
	must(os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\n"), 0o555))
	must(os.WriteFile(filepath.Join(src, "results", "r.json"), []byte("{}"), 0o444))
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	must(os.Chtimes(filepath.Join(src, "run.sh"), old, old))
	for range 2 { // the second sync overwrites read-only copies
		must(syncDir(src, dst))
	}
	st, err := os.Stat(filepath.Join(dst, "run.sh"))
	must(err)
	if st.Mode().Perm() != 0o755 || !st.ModTime().Equal(old) {
		t.Errorf("run.sh copy: mode %v, mtime %v; want 0755 and %v", st.Mode().Perm(), st.ModTime(), old)
	}
	if _, err := os.Stat(filepath.Join(dst, "results", "r.json")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "node_modules")); !os.IsNotExist(err) {
		t.Errorf("node_modules was copied (%v)", err)
	}
}

// The figures of a window: 10 rooms × 10 players, 20 s at 20 Hz, 20 of
// each room's 400 slots skipped, so 380 ticks per room.
func TestFillTickroom(t *testing.T) {
	scrape := func(ticks, overruns, bytes, msgs, lateFast, lateSlow float64) Scrape {
		// lateFast ticks ≤ 1 ms, lateSlow in (30, 50] ms.
		sc, err := ParseMetrics(fmt.Sprintf(`tickroom_tick_lateness_seconds_bucket{le="0.001"} %v
tickroom_tick_lateness_seconds_bucket{le="0.03"} %v
tickroom_tick_lateness_seconds_bucket{le="0.05"} %v
tickroom_tick_lateness_seconds_bucket{le="+Inf"} %v
tickroom_tick_lateness_seconds_count %v
tickroom_tick_lateness_seconds_sum 0
tickroom_tick_overruns_total %v
tickroom_sent_bytes_total %v
tickroom_sent_messages_total %v
tickroom_rooms 10
tickroom_connections 100
go_memstats_alloc_bytes_total %v
go_gc_duration_seconds_count 0
`, lateFast, lateFast, lateFast+lateSlow, ticks, ticks, overruns, bytes, msgs, bytes*2))
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	w := window{
		seconds:   20,
		before:    scrape(1000, 5, 1e6, 1e4, 1000, 0),
		after:     scrape(1000+3800, 5+200, 1e6+38000*40, 1e4+38000, 1000+3762, 38),
		serverCPU: 1520, // 15.2 s of CPU in 20 s: 76 % of a core
		loadCPU:   1000,
		mem:       Memory{RSS: 30 << 10, HWM: 31 << 10},
	}
	var r Result
	if err := r.fillTickroom(w, Config{Rooms: 10, Players: 10, TickRate: 20, ContendedPct: 10}); err != nil {
		t.Fatal(err)
	}
	// 38,000 player-ticks in 20 s; 15.2 s of CPU: 400 µs per player-tick.
	if r.TicksPerRoom != 380 || r.CPUPerPlayerTick != 400 || r.ServerCPUPct != 76 || r.TickOverruns != 200 {
		t.Errorf("ticks %v, cpu/pt %v, cpu%% %v, overruns %v; want 380, 400, 76, 200", r.TicksPerRoom, r.CPUPerPlayerTick, r.ServerCPUPct, r.TickOverruns)
	}
	if r.BytesPerPlayerTick != 40 || r.FramesPerPlayerTick != 1 || r.AllocPerPlayerTick != 80 || r.RSSMB != 30 {
		t.Errorf("bytes %v, frames %v, alloc %v, rss %v; want 40, 1, 80, 30", r.BytesPerPlayerTick, r.FramesPerPlayerTick, r.AllocPerPlayerTick, r.RSSMB)
	}
	// 3762 of 3800 window ticks ≤ 1 ms: p50 interpolates to 0.505 ms; the
	// p99 rank (3762) is the top of the first bucket; the max is the
	// (30, 50] bucket's bound.
	if r.LatenessP50 != 0.505 || r.LatenessP99 != 1 || r.LatenessMax != 50 {
		t.Errorf("lateness p50 %v p99 %v max %v; want 0.505, 1, 50", r.LatenessP50, r.LatenessP99, r.LatenessMax)
	}
	bad := window{seconds: 20, before: w.before, after: scrape(4800, 205, 1, 1, 4800, 0)}
	bad.after = append(Scrape{}, bad.after...)
	for i := range bad.after {
		if bad.after[i].Name == "tickroom_connections" {
			bad.after[i].Value = 99
		}
	}
	if err := r.fillTickroom(bad, Config{Rooms: 10, Players: 10, TickRate: 20}); err == nil {
		t.Error("a player missing at the end of the window: no error")
	}
}
