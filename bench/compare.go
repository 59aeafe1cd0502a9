package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// CompareConfig configures Compare.
type CompareConfig struct {
	Arena Config
	// ColyseusDir holds the Colyseus peer benchmark (run.sh); the Makefile
	// passes ../shared/peers/colyseus, relative to the repository.
	ColyseusDir string
	// WorkDir is where the Colyseus folder is copied to run (it installs
	// its npm packages next to itself, and the shared folder may be read
	// only); default <user cache dir>/tickroom-bench/colyseus.
	WorkDir string
	// Timeout bounds the Colyseus run, npm install included; default 15m.
	Timeout time.Duration
	// Stderr receives the Colyseus harness's progress lines.
	Stderr io.Writer
}

// Comparison is what `make bench-compare` prints: both sides and the
// ratios (tickroom / Colyseus; below 1 is better for tickroom).
type Comparison struct {
	Players int `json:"players"`
	Rooms   int `json:"rooms"`

	CPURatio          float64 `json:"cpu_ratio_vs_colyseus"`
	BytesRatio        float64 `json:"bytes_ratio_vs_colyseus"`
	RSSRatio          float64 `json:"rss_ratio_vs_colyseus"`
	LatenessRatio     float64 `json:"lateness_p99_ratio_vs_colyseus"`
	OurCPU            float64 `json:"tickroom_cpu_us_per_player_tick"`
	TheirCPU          float64 `json:"colyseus_cpu_us_per_player_tick"`
	OurBytes          float64 `json:"tickroom_bytes_per_player_tick"`
	TheirBytes        float64 `json:"colyseus_bytes_per_player_tick"`
	OurLatenessP99    float64 `json:"tickroom_tick_lateness_p99_ms"`
	TheirLatenessP99  float64 `json:"colyseus_tick_lateness_p99_ms"` // tick interval p99 − tick interval
	OurRSS            float64 `json:"tickroom_rss_mb"`
	TheirRSS          float64 `json:"colyseus_rss_mb"`
	OurTicksPerRoom   float64 `json:"tickroom_ticks_per_room"`
	TheirTicksPerRoom float64 `json:"colyseus_ticks_per_room"`
	Contended         bool    `json:"contended"`

	Tickroom Result         `json:"tickroom"`
	Colyseus map[string]any `json:"colyseus"`
}

// Compare runs the arena benchmark (Run) and then the Colyseus peer
// benchmark at the same sizes, one after the other, and computes the
// ratios.
func Compare(ctx context.Context, cfg CompareConfig) (Comparison, error) {
	var c Comparison
	src, err := filepath.Abs(cfg.ColyseusDir)
	if err != nil {
		return c, err
	}
	if st, err := os.Stat(filepath.Join(src, "run.sh")); err != nil || st.IsDir() {
		return c, fmt.Errorf("bench: no Colyseus peer benchmark at %s (want its run.sh): bench-compare needs the shared peers folder next to the repository, ../shared/peers/colyseus", src)
	}
	if cfg.WorkDir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		cfg.WorkDir = filepath.Join(cache, "tickroom-bench", "colyseus")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Minute
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	arena, err := cfg.Arena.withDefaults()
	if err != nil {
		return c, err
	}

	ours, err := Run(ctx, arena)
	if err != nil {
		return c, err
	}
	c.Tickroom = ours
	arena.Logger.Info("running the Colyseus peer benchmark", "dir", src, "copy", cfg.WorkDir)
	if err := syncDir(src, cfg.WorkDir); err != nil {
		return c, fmt.Errorf("bench: copying the Colyseus benchmark: %w", err)
	}
	theirs, err := runColyseus(ctx, cfg, arena)
	if err != nil {
		return c, err
	}
	c.Colyseus = theirs
	return c, c.fill()
}

// runColyseus runs `run.sh -r R -p P -w WARMUP -m WINDOW` in the work copy and returns its
// JSON line.
func runColyseus(ctx context.Context, cfg CompareConfig, arena Config) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "./run.sh", "-r", strconv.Itoa(arena.Rooms), "-p", strconv.Itoa(arena.Players),
		"-w", strconv.Itoa(int(arena.Warmup.Seconds())), "-m", strconv.Itoa(int(arena.Window.Seconds())))
	cmd.Dir = cfg.WorkDir
	cmd.Stderr = cfg.Stderr
	// run.sh kills what it started when it gets SIGTERM; Pdeathsig covers
	// the harness dying first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("bench: Colyseus run: %w", ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("bench: Colyseus run.sh failed: %w (its logs are in $LOG_DIR, default /tmp, as colyseus-bench-*.log)", err)
	}
	line, err := lastJSONLine(string(out))
	if err != nil {
		return nil, fmt.Errorf("bench: Colyseus run.sh: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		return nil, fmt.Errorf("bench: Colyseus run.sh output: %w", err)
	}
	if m["peer"] != "colyseus" {
		return nil, errors.New("bench: Colyseus run.sh printed an unexpected JSON line (no \"peer\":\"colyseus\")")
	}
	return m, nil
}

// fill computes the ratios from c.Tickroom and c.Colyseus.
func (c *Comparison) fill() error {
	num := func(k string) (float64, error) {
		v, ok := c.Colyseus[k].(float64)
		if !ok {
			return 0, fmt.Errorf("bench: Colyseus result has no number %q", k)
		}
		return v, nil
	}
	var err error
	get := func(k string) float64 {
		v, e := num(k)
		if err == nil {
			err = e
		}
		return v
	}
	cpu, rx, ticks, window := get("cpu_us_per_player_tick"), get("rx_payload_bytes_per_client_s"), get("ticks_per_room"), get("window_s")
	p99, tickMs, rss := get("tick_interval_ms_p99"), get("tick_ms"), get("server_rss_mb")
	if err != nil {
		return err
	}
	if ticks <= 0 || window <= 0 {
		return errors.New("bench: Colyseus result: no ticks")
	}
	t := c.Tickroom
	c.Players, c.Rooms = t.Players, t.Rooms
	c.OurCPU, c.TheirCPU = t.CPUPerPlayerTick, cpu
	// Payload bytes a client received per second ÷ ticks per second
	// actually executed per room.
	c.OurBytes, c.TheirBytes = t.BytesPerPlayerTick, round(rx/(ticks/window), 2)
	c.OurLatenessP99, c.TheirLatenessP99 = t.LatenessP99, round(p99-tickMs, 3)
	c.OurRSS, c.TheirRSS = t.RSSMB, rss
	c.OurTicksPerRoom, c.TheirTicksPerRoom = t.TicksPerRoom, ticks
	c.CPURatio = ratio(c.OurCPU, c.TheirCPU, 3)
	c.BytesRatio = ratio(c.OurBytes, c.TheirBytes, 3)
	c.RSSRatio = ratio(c.OurRSS, c.TheirRSS, 3)
	c.LatenessRatio = ratio(c.OurLatenessP99, c.TheirLatenessP99, 3)
	contended, _ := c.Colyseus["contended"].(bool)
	c.Contended = t.Contended || contended
	return nil
}

func ratio(a, b float64, d int) float64 {
	if b == 0 {
		return 0
	}
	return round(a/b, d)
}

// syncDir copies the files of src into dst, leaving out node_modules (dst
// keeps its own, installed there by run.sh). Files keep their mode (made
// writable by the owner, so the next sync can overwrite them) and their
// modification time, so run.sh's "lock file newer than node_modules"
// check reinstalls only when the lock file really changed.
func syncDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "node_modules" {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		if err := copyFile(path, target, info.Mode().Perm()|0o200); err != nil {
			return err
		}
		return os.Chtimes(target, info.ModTime(), info.ModTime())
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}
