package bench

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls metricsURL until it answers (10 s at most).
func waitReady(ctx context.Context, srv *child, metricsURL string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if srv.Exited() {
			return fmt.Errorf("bench: %s exited at start: %v\n%s", srv.name, srv.err, srv.LogTail(10))
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := ScrapeURL(cctx, metricsURL)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %s not ready after 10s: %w; log: %s", srv.name, err, srv.log)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitGauge polls metricsURL until gauge reaches want, within d; load is
// the process expected to get it there.
func waitGauge(ctx context.Context, load *child, metricsURL, gauge string, want int, d time.Duration) error {
	start := time.Now()
	deadline := start.Add(d)
	cpu0, _ := ReadProcStat(load.Pid())
	var got float64
	for {
		if load.Exited() {
			return fmt.Errorf("bench: %s ended before %s reached %d (at %v): %v\n%s%s",
				load.name, gauge, want, got, load.err, load.Stdout(), load.LogTail(10))
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		sc, err := ScrapeURL(cctx, metricsURL)
		cancel()
		if err == nil {
			got, _ = sc.Value(gauge)
			if got >= float64(want) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			hint := ""
			if cpu1, err := ReadProcStat(load.Pid()); err == nil {
				pct := 100 * float64(cpu1.CPU()-cpu0.CPU()) / ClockTicks / time.Since(start).Seconds()
				hint = fmt.Sprintf("; %s used %.0f %% of a core meanwhile", load.name, pct)
				if pct > 85 {
					hint += " (the load generator is the limit: see docs/BENCHMARKS.md, --load lean)"
				}
			}
			return fmt.Errorf("bench: %s at %v after %v, want %d%s; log: %s", gauge, got, d, want, hint, load.log)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// fetchProfile GETs a pprof profile URL (it blocks for the profile's
// duration) and writes the body to file.
func fetchProfile(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("bench: CPU profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: CPU profile: GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("bench: CPU profile: %w", err)
	}
	return f.Close()
}

// waitQuiet waits (up to cfg.QuietWait) until the processes on the
// machine use less than cfg.QuietPct % of one core over 2 s.
func waitQuiet(ctx context.Context, cfg Config) {
	if cfg.QuietWait < 0 {
		return
	}
	start := time.Now()
	ours := map[int]bool{os.Getpid(): true}
	for {
		a := ReadProcTable()
		if sleep(ctx, 2*time.Second) != nil {
			return
		}
		o := OtherCPU(a, ReadProcTable(), ours, 2)
		if o.Pct < cfg.QuietPct {
			return
		}
		if time.Since(start) >= cfg.QuietWait {
			cfg.Logger.Warn("machine still busy; starting anyway", "other_cpu_pct", o.Pct, "top", strings.Join(o.Top, ","))
			return
		}
		cfg.Logger.Info("machine busy, waiting", "other_cpu_pct", o.Pct, "top", strings.Join(o.Top, ","))
	}
}

// Machine describes where a benchmark ran.
type Machine struct {
	CPU    string `json:"cpu"`
	CPUs   int    `json:"cpus"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
}

// ReadMachine reads the CPU model (/proc/cpuinfo), the CPUs this process
// may use, the kernel release and the Go version of the harness.
func ReadMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// Build is the version control state a binary was built from.
type Build struct {
	Revision string `json:"revision,omitempty"`
	Modified bool   `json:"modified"` // built with uncommitted changes
	Go       string `json:"go,omitempty"`
}

// ReadBuild reads the build information Go embedded in a binary. When it
// holds no revision (built with -buildvcs=false), it asks git about the
// working directory instead (make builds there just before).
func ReadBuild(path string) Build {
	var b Build
	if info, err := buildinfo.ReadFile(path); err == nil {
		b.Go = info.GoVersion
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Revision == "" {
		if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
			b.Revision = strings.TrimSpace(string(out))
			st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output()
			b.Modified = err != nil || len(strings.TrimSpace(string(st))) > 0
		}
	}
	return b
}

// round rounds v to d decimals.
func round(v float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(v*p) / p
}

// ms converts seconds to milliseconds with 3 decimals (NaN stays NaN).
func ms(sec float64) float64 { return round(sec*1000, 3) }

func ptr[T any](v T) *T { return &v }
