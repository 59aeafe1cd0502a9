package bench

import (
	"context"
	"fmt"
	"os"
	"time"
)

// window is what was measured between the start and the end of one
// measured window.
type window struct {
	seconds       float64 // between the /proc reads
	before, after Scrape
	serverCPU     uint64 // clock ticks used by the server in the window
	loadCPU       uint64 // clock ticks used by the load generator
	mem           Memory // server memory at the end of the window
	rssMax        uint64 // KiB, largest VmRSS sampled (once a second) in the window
	others        Others
	sysIdlePct    float64 // idle share of all CPUs, %
	loadavgStart  string
	loadavgEnd    string
}

// measureWindow measures srv (and load) for d: it scrapes metricsURL and
// reads /proc at both ends, and samples the server's memory once a second
// in between.
func measureWindow(ctx context.Context, srv, load *child, metricsURL string, d time.Duration) (window, error) {
	w := window{loadavgStart: Loadavg()}
	ours := map[int]bool{os.Getpid(): true, srv.Pid(): true, load.Pid(): true}

	readCPU := func() (s, l uint64, err error) {
		ps, err := ReadProcStat(srv.Pid())
		if err != nil {
			return 0, 0, fmt.Errorf("bench: server: %w", err)
		}
		pl, err := ReadProcStat(load.Pid())
		if err != nil {
			return 0, 0, fmt.Errorf("bench: load generator: %w", err)
		}
		return ps.CPU(), pl.CPU(), nil
	}

	var err error
	if w.before, err = ScrapeURL(ctx, metricsURL); err != nil {
		return w, err
	}
	table0 := ReadProcTable()
	sys0, _ := ReadSysCPU()
	s0, l0, err := readCPU()
	if err != nil {
		return w, err
	}
	t0 := time.Now()

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	end := time.NewTimer(d)
	defer end.Stop()
sampling:
	for {
		select {
		case <-ctx.Done():
			return w, ctx.Err()
		case <-end.C:
			break sampling
		case <-tick.C:
			if srv.Exited() || load.Exited() {
				return w, fmt.Errorf("bench: %s or %s ended during the window", srv.name, load.name)
			}
			if m, err := ReadMemory(srv.Pid()); err == nil {
				w.rssMax = max(w.rssMax, m.RSS)
			}
		}
	}

	s1, l1, err := readCPU()
	if err != nil {
		return w, err
	}
	w.seconds = time.Since(t0).Seconds()
	sys1, _ := ReadSysCPU()
	table1 := ReadProcTable()
	if w.mem, err = ReadMemory(srv.Pid()); err != nil {
		return w, err
	}
	w.rssMax = max(w.rssMax, w.mem.RSS)
	if w.after, err = ScrapeURL(ctx, metricsURL); err != nil {
		return w, err
	}
	w.serverCPU, w.loadCPU = s1-s0, l1-l0
	w.others = OtherCPU(table0, table1, ours, w.seconds)
	if tot := sys1.Total() - sys0.Total(); tot > 0 {
		w.sysIdlePct = round(100*float64(sys1.Idle-sys0.Idle)/float64(tot), 1)
	}
	w.loadavgEnd = Loadavg()
	return w, nil
}

// cpuPct is a CPU tick count over the window in % of one core.
func (w window) cpuPct(ticks uint64) float64 {
	return 100 * float64(ticks) / ClockTicks / w.seconds
}

// delta is a counter's growth over the window.
func (w window) delta(name string) (float64, error) {
	a, ok1 := w.before.Value(name)
	b, ok2 := w.after.Value(name)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("bench: metric %s missing", name)
	}
	return b - a, nil
}

// histogram is a histogram's observations in the window.
func (w window) histogram(name string) (Histogram, error) {
	a, err := w.before.Histogram(name)
	if err != nil {
		return Histogram{}, err
	}
	b, err := w.after.Histogram(name)
	if err != nil {
		return Histogram{}, err
	}
	return b.Sub(a)
}
