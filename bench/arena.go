package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Load generators (Config.Load).
const (
	LoadBots = "bots"
	LoadLean = "lean"
)

// Defaults of Config.
const (
	DefaultRooms         = 50
	DefaultPlayers       = 10
	DefaultTickRate      = 20
	DefaultWarmup        = 5 * time.Second
	DefaultWindow        = 20 * time.Second
	DefaultSeed          = 1
	DefaultChaosKillRate = 0.05
	DefaultChaosDuration = 10 * time.Second
	DefaultQuietWait     = 30 * time.Second
	DefaultQuietPct      = 15
	DefaultContendedPct  = 10
)

// Config configures Run. Zero fields take the defaults above.
type Config struct {
	Tickroom string // path of the tickroom binary (required)
	Floor    string // path of the tickroom-floor binary; empty skips the floor

	// Load is the load generator for tickroom: LoadBots (default), the SDK
	// bots of `tickroom bot`, which verify every frame's checksum, or
	// LoadLean, package leanbot, run as `LeanBots leanbots ...` (cheaper
	// per player, so the load generator's CPU allows more players; no
	// desync check).
	Load     string
	LeanBots string // the binary with the leanbots subcommand (tickroom-bench)

	Rooms, Players int // R rooms × P players each
	TickRate       int
	Warmup, Window time.Duration
	Seed           uint64

	// The chaos variant: a second bot run with --chaos-kill-rate against
	// the same server, for resync_ms_p99. NoChaos skips it; it is skipped
	// anyway when `tickroom bot` has no --chaos-kill-rate flag.
	NoChaos       bool
	ChaosKillRate float64
	ChaosDuration time.Duration

	// Before each phase, wait up to QuietWait for other processes to use
	// less than QuietPct % of one core; a window in which they used more
	// than ContendedPct % is flagged "contended". Negative QuietWait: do
	// not wait.
	QuietWait              time.Duration
	QuietPct, ContendedPct float64
	// RetryContended repeats a contended run up to this many times.
	RetryContended int

	Pinning Pinning // zero: DefaultPinning()
	LogDir  string  // child process logs; default os.TempDir()
	Logger  *slog.Logger

	// CPUProfile, if set, is where a Go CPU profile of tickroom serve over
	// the measured window is written (serve runs with --pprof), and
	// CPUProfile+".floor" that of the floor server. Profiling costs a
	// little CPU, so such a run is marked "profiled".
	CPUProfile string
}

func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Rooms, DefaultRooms)
	def(&c.Players, DefaultPlayers)
	def(&c.TickRate, DefaultTickRate)
	if c.Warmup == 0 {
		c.Warmup = DefaultWarmup
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if c.ChaosKillRate == 0 {
		c.ChaosKillRate = DefaultChaosKillRate
	}
	if c.ChaosDuration == 0 {
		c.ChaosDuration = DefaultChaosDuration
	}
	if c.QuietWait == 0 {
		c.QuietWait = DefaultQuietWait
	}
	if c.QuietPct == 0 {
		c.QuietPct = DefaultQuietPct
	}
	if c.ContendedPct == 0 {
		c.ContendedPct = DefaultContendedPct
	}
	if c.Load == "" {
		c.Load = LoadBots
	}
	if c.Load != LoadBots && c.Load != LoadLean {
		return c, fmt.Errorf("bench: load generator %q: want %q or %q", c.Load, LoadBots, LoadLean)
	}
	if c.Load == LoadLean && c.LeanBots == "" {
		return c, errors.New("bench: Config.LeanBots (the binary with the leanbots subcommand) is required for the lean load")
	}
	if c.Pinning == (Pinning{}) {
		c.Pinning = DefaultPinning()
	}
	if c.LogDir == "" {
		c.LogDir = os.TempDir()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.Tickroom == "":
		return c, errors.New("bench: Config.Tickroom (the tickroom binary) is required")
	case c.Rooms < 0 || c.Players < 0:
		return c, fmt.Errorf("bench: %d rooms × %d players: both must be positive", c.Rooms, c.Players)
	case c.TickRate < 0 || c.Warmup < 0 || c.Window < time.Second || c.ChaosDuration < 0:
		return c, fmt.Errorf("bench: tick rate %d, warm-up %v, window %v: positive, window ≥ 1s", c.TickRate, c.Warmup, c.Window)
	}
	return c, nil
}

// players is the number of bots (and connections) of a run.
func (c Config) players() int { return c.Rooms * c.Players }

// joinAllowance bounds how long all connections may take to join.
func (c Config) joinAllowance() time.Duration {
	return 15*time.Second + time.Duration(c.players())*10*time.Millisecond
}

// Result is the outcome of one arena benchmark; it marshals to the JSON
// object `make bench` prints. Per player-tick figures divide by players ×
// ticks per room executed in the window (see docs/BENCHMARKS.md).
type Result struct {
	Bench          string  `json:"bench"`
	Players        int     `json:"players"`
	Rooms          int     `json:"rooms"`
	PlayersPerRoom int     `json:"players_per_room"`
	TickRate       int     `json:"tick_rate"`
	WarmupS        float64 `json:"warmup_s"`
	WindowS        float64 `json:"window_s"`

	ServerCPUPct        float64  `json:"server_cpu_pct"`
	CPUPerPlayerTick    float64  `json:"cpu_us_per_player_tick"`
	RSSMB               float64  `json:"rss_mb"`
	RSSPeakMB           float64  `json:"rss_peak_mb"`
	BytesPerPlayerTick  float64  `json:"bytes_per_player_tick"`
	FramesPerPlayerTick float64  `json:"frames_per_player_tick"`
	TicksPerRoom        float64  `json:"ticks_per_room"`
	TickOverruns        float64  `json:"tick_overruns"`
	LatenessP50         float64  `json:"tick_lateness_p50_ms"`
	LatenessP99         float64  `json:"tick_lateness_p99_ms"`
	LatenessMax         float64  `json:"tick_lateness_max_ms"`
	ResyncP99           *float64 `json:"resync_ms_p99"`
	ResyncP50           *float64 `json:"resync_ms_p50,omitempty"`
	ResyncNote          string   `json:"resync_note,omitempty"`
	Chaos               any      `json:"chaos_summary,omitempty"`
	LoadGenerator       string   `json:"load_generator"`
	Desyncs             *uint64  `json:"desyncs"` // null with the lean load (it checks no checksum)
	BotErrors           uint64   `json:"bot_errors"`
	BotFirstError       string   `json:"bot_first_error,omitempty"`
	InputsLate          uint64   `json:"inputs_late"`
	BotsCPUPct          float64  `json:"bots_cpu_pct"`
	AllocPerPlayerTick  float64  `json:"alloc_bytes_per_player_tick"`
	GCCycles            float64  `json:"gc_cycles"`
	GOMAXPROCS          float64  `json:"server_gomaxprocs"`
	Profiled            bool     `json:"profiled,omitempty"`

	FloorCPUPerPlayerTick    *float64 `json:"floor_cpu_us_per_player_tick"`
	FloorRSSMB               *float64 `json:"floor_rss_mb"`
	CPURatioVsFloor          *float64 `json:"cpu_ratio_vs_floor"`
	RSSRatioVsFloor          *float64 `json:"rss_ratio_vs_floor,omitempty"`
	FloorServerCPUPct        *float64 `json:"floor_server_cpu_pct,omitempty"`
	FloorBytesPerPlayerTick  *float64 `json:"floor_bytes_per_player_tick,omitempty"`
	FloorFramesPerPlayerTick *float64 `json:"floor_frames_per_player_tick,omitempty"`
	FloorLatenessP99         *float64 `json:"floor_tick_lateness_p99_ms,omitempty"`
	FloorLoadCPUPct          *float64 `json:"floor_load_cpu_pct,omitempty"`
	FloorAllocPerPlayerTick  *float64 `json:"floor_alloc_bytes_per_player_tick,omitempty"`
	FloorGCCycles            *float64 `json:"floor_gc_cycles,omitempty"`
	FloorNote                string   `json:"floor_note,omitempty"`

	Others          Others   `json:"load"`
	FloorOthers     *Others  `json:"floor_load,omitempty"`
	IdlePct         float64  `json:"machine_idle_pct"`
	LoadavgStart    string   `json:"loadavg_start"`
	LoadavgEnd      string   `json:"loadavg_end"`
	Contended       bool     `json:"contended"`
	ServerCPUs      string   `json:"server_cpus"`
	LoadCPUs        string   `json:"load_cpus"`
	PinNote         string   `json:"pin_note,omitempty"`
	Machine         Machine  `json:"machine"`
	Build           Build    `json:"tickroom_build"`
	LateMaxOverflow bool     `json:"tick_lateness_max_over_buckets,omitempty"`
	Notes           []string `json:"notes,omitempty"`
}

// Run runs one arena benchmark: tickroom and its bots, the chaos variant,
// then the transport floor; each server and its load generator are their
// own processes. A run that other processes contended is repeated up to
// cfg.RetryContended times (the last one is returned). It returns once
// every process it started has ended.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	for try := 0; ; try++ {
		r, err := runOnce(ctx, cfg)
		if err != nil || !r.Contended || try >= cfg.RetryContended {
			return r, err
		}
		floor := Others{}
		if r.FloorOthers != nil {
			floor = *r.FloorOthers
		}
		cfg.Logger.Warn("the run was contended by other processes; repeating", "tickroom_phase_other_cpu_pct", r.Others.Pct,
			"top", r.Others.Top, "floor_phase_other_cpu_pct", floor.Pct, "floor_top", floor.Top)
	}
}

func runOnce(ctx context.Context, cfg Config) (Result, error) {
	r := Result{
		Bench: "tickroom-arena", Players: cfg.players(), Rooms: cfg.Rooms, PlayersPerRoom: cfg.Players,
		TickRate: cfg.TickRate, WarmupS: cfg.Warmup.Seconds(), WindowS: cfg.Window.Seconds(),
		ServerCPUs: cfg.Pinning.Server, LoadCPUs: cfg.Pinning.Load, PinNote: cfg.Pinning.Why,
		Machine: ReadMachine(), Build: ReadBuild(cfg.Tickroom),
	}
	if err := runTickroom(ctx, cfg, &r); err != nil {
		return r, err
	}
	if cfg.Floor == "" {
		r.FloorNote = "floor not run (no floor binary given)"
		return r, nil
	}
	if err := runFloor(ctx, cfg, &r); err != nil {
		return r, err
	}
	return r, nil
}

// runTickroom measures tickroom serve with its bots, then runs the chaos
// variant against the same server.
func runTickroom(ctx context.Context, cfg Config, r *Result) error {
	log := cfg.Logger
	waitQuiet(ctx, cfg)
	port, err := freePort()
	if err != nil {
		return err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	args := []string{cfg.Tickroom, "serve",
		"--addr", "127.0.0.1:" + strconv.Itoa(port), "--arena-capacity", strconv.Itoa(cfg.Players),
		"--tick-rate", strconv.Itoa(cfg.TickRate), "--log-level", "warn",
		// The load comes from one address: no per-address caps.
		"--max-conns-per-ip", "-1", "--guest-rate", "100000", "--guest-burst", "100000"}
	if cfg.CPUProfile != "" {
		args = append(args, "--pprof")
		r.Profiled = true
	}
	srv, err := startChild("tickroom-serve", cfg.Pinning.Server, cfg.LogDir, args...)
	if err != nil {
		return err
	}
	defer srv.kill()
	if err := waitReady(ctx, srv, base+"/metrics"); err != nil {
		return err
	}

	n := cfg.players()
	botDuration := cfg.joinAllowance() + cfg.Warmup + cfg.Window + 10*time.Second
	log.Info("starting the load", "generator", cfg.Load, "players", n, "rooms", cfg.Rooms, "url", base)
	loadArgs := []string{"--url", base, "--bots", strconv.Itoa(n), "--room", "arena-players",
		"--duration", botDuration.String(), "--rate", strconv.Itoa(cfg.TickRate),
		"--seed", strconv.FormatUint(cfg.Seed, 10), "--json"}
	var bots *child
	if cfg.Load == LoadLean {
		r.LoadGenerator = "leanbot"
		bots, err = startChild("leanbots", cfg.Pinning.Load, cfg.LogDir, append([]string{cfg.LeanBots, "leanbots"}, loadArgs...)...)
	} else {
		r.LoadGenerator = "tickroom bot"
		bots, err = startChild("tickroom-bot", cfg.Pinning.Load, cfg.LogDir, append([]string{cfg.Tickroom, "bot"}, loadArgs...)...)
	}
	if err != nil {
		return err
	}
	defer bots.kill()
	joinStart := time.Now()
	if err := waitGauge(ctx, bots, base+"/metrics", "tickroom_connections", n, cfg.joinAllowance()); err != nil {
		return err
	}
	log.Info("bots joined", "s", round(time.Since(joinStart).Seconds(), 1), "warmup", cfg.Warmup, "window", cfg.Window)
	if err := sleep(ctx, cfg.Warmup); err != nil {
		return err
	}
	var profiled chan error
	if cfg.CPUProfile != "" {
		profiled = make(chan error, 1)
		go func() {
			profiled <- fetchProfile(ctx, base+"/debug/pprof/profile?seconds="+strconv.Itoa(int(cfg.Window.Seconds())), cfg.CPUProfile)
		}()
	}
	w, err := measureWindow(ctx, srv, bots, base+"/metrics", cfg.Window)
	if err != nil {
		return err
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			return err
		}
		log.Info("CPU profile written", "file", cfg.CPUProfile)
	}
	// The bots stop on SIGINT (leaving cleanly) and print their summary.
	bots.Signal(syscall.SIGINT)
	if exited, _ := bots.Wait(30*time.Second + time.Duration(n)*5*time.Millisecond); !exited {
		return fmt.Errorf("bench: the bots did not stop within the bound after SIGINT; log: %s", bots.log)
	}
	var sum struct {
		Connected  int     `json:"connected"`
		Desyncs    *uint64 `json:"desyncs"`
		Errors     uint64  `json:"errors"`
		FirstError string  `json:"first_error"`
		InputsLate uint64  `json:"inputs_late"`
	}
	line, err := lastJSONLine(bots.Stdout())
	if err == nil {
		err = json.Unmarshal([]byte(line), &sum)
	}
	if err != nil {
		return fmt.Errorf("bench: bot summary: %w; log tail:\n%s", err, bots.LogTail(10))
	}
	r.Desyncs, r.BotErrors, r.BotFirstError, r.InputsLate = sum.Desyncs, sum.Errors, sum.FirstError, sum.InputsLate

	if err := r.fillTickroom(w, cfg); err != nil {
		return err
	}
	log.Info("tickroom measured", "cpu_us_per_player_tick", r.CPUPerPlayerTick, "server_cpu_pct", r.ServerCPUPct,
		"bytes_per_player_tick", r.BytesPerPlayerTick, "lateness_p99_ms", r.LatenessP99, "contended", r.Contended)

	if err := runChaos(ctx, cfg, base, r); err != nil {
		return err
	}
	if err := srv.Stop(syscall.SIGTERM, 10*time.Second); err != nil {
		log.Warn("tickroom serve did not exit cleanly", "err", err, "log", srv.log)
	}
	return nil
}

// fillTickroom computes the tickroom figures of r from the window.
func (r *Result) fillTickroom(w window, cfg Config) error {
	h, err := w.histogram("tickroom_tick_lateness_seconds")
	if err != nil {
		return err
	}
	rooms, ok := w.after.Value("tickroom_rooms")
	if !ok || rooms <= 0 {
		return errors.New("bench: tickroom_rooms missing or zero at the end of the window")
	}
	conns, _ := w.after.Value("tickroom_connections")
	if int(conns) != cfg.players() {
		return fmt.Errorf("bench: %v connections at the end of the window, want %d (bots left early?)", conns, cfg.players())
	}
	if int(rooms) != cfg.Rooms {
		r.Notes = append(r.Notes, fmt.Sprintf("%v rooms ran, %d expected", rooms, cfg.Rooms))
	}
	r.Rooms = int(rooms)
	ticksPerRoom := h.Count / rooms // between the scrapes
	playerTicks := float64(cfg.players()) * ticksPerRoom
	if playerTicks <= 0 {
		return errors.New("bench: no ticks in the window")
	}
	r.TickOverruns, _ = w.delta("tickroom_tick_overruns_total")
	// CPU per player-tick: CPU seconds per second ÷ player-ticks per
	// second. The tick rate comes from the server's own clock, not from
	// when the scrapes happened: each slot of a room's absolute tick grid
	// is either executed (counted in the histogram) or skipped (an
	// overrun), so rooms tick at TickRate × executed ÷ (executed + skipped).
	tickHz := float64(cfg.TickRate) * h.Count / (h.Count + r.TickOverruns)
	playerTickRate := float64(cfg.players()) * tickHz
	sent, err := w.delta("tickroom_sent_bytes_total")
	if err != nil {
		return err
	}
	msgs, err := w.delta("tickroom_sent_messages_total")
	if err != nil {
		return err
	}
	r.WindowS = round(w.seconds, 3)
	r.ServerCPUPct = round(w.cpuPct(w.serverCPU), 1)
	r.CPUPerPlayerTick = round(float64(w.serverCPU)/ClockTicks/w.seconds*1e6/playerTickRate, 2)
	r.RSSMB = round(float64(w.mem.RSS)/1024, 1)
	r.RSSPeakMB = round(float64(w.mem.HWM)/1024, 1)
	r.BytesPerPlayerTick = round(sent/playerTicks, 2)
	r.FramesPerPlayerTick = round(msgs/playerTicks, 3)
	r.TicksPerRoom = round(tickHz*w.seconds, 1) // in the window_s
	r.LatenessP50 = ms(h.Quantile(0.5))
	r.LatenessP99 = ms(h.Quantile(0.99))
	max := h.Max()
	if math.IsInf(max, 1) {
		max, r.LateMaxOverflow = h.Buckets[len(h.Buckets)-2].Le, true
	}
	r.LatenessMax = ms(max)
	r.BotsCPUPct = round(w.cpuPct(w.loadCPU), 1)
	if alloc, err := w.delta("go_memstats_alloc_bytes_total"); err == nil {
		r.AllocPerPlayerTick = round(alloc/playerTicks, 1) // both between the scrapes
	}
	r.GCCycles, _ = w.delta("go_gc_duration_seconds_count")
	r.GOMAXPROCS, _ = w.after.Value("go_sched_gomaxprocs_threads")
	r.Others, r.IdlePct = w.others, w.sysIdlePct
	r.LoadavgStart, r.LoadavgEnd = w.loadavgStart, w.loadavgEnd
	r.Contended = w.others.Pct > cfg.ContendedPct
	return nil
}

// runChaos runs the chaos variant (a second, short bot run whose bots
// have their connections killed and resume) when the bots support it.
func runChaos(ctx context.Context, cfg Config, base string, r *Result) error {
	if cfg.NoChaos {
		r.ResyncNote = "chaos variant skipped (--no-chaos)"
		return nil
	}
	help, _ := exec.CommandContext(ctx, cfg.Tickroom, "bot", "-h").CombinedOutput()
	if !strings.Contains(string(help), "chaos-kill-rate") {
		r.ResyncNote = "not measured: this tickroom bot has no --chaos-kill-rate flag yet"
		return nil
	}
	n := cfg.players()
	cfg.Logger.Info("chaos variant", "players", n, "kill_rate", cfg.ChaosKillRate, "duration", cfg.ChaosDuration)
	bots, err := startChild("tickroom-bot-chaos", cfg.Pinning.Load, cfg.LogDir, cfg.Tickroom, "bot",
		"--url", base, "--bots", strconv.Itoa(n), "--room", "arena-players",
		"--duration", cfg.ChaosDuration.String(), "--rate", strconv.Itoa(cfg.TickRate),
		"--seed", strconv.FormatUint(cfg.Seed+1, 10), "--json",
		"--chaos-kill-rate", strconv.FormatFloat(cfg.ChaosKillRate, 'g', -1, 64))
	if err != nil {
		return err
	}
	defer bots.kill()
	bound := cfg.joinAllowance() + cfg.ChaosDuration + 60*time.Second
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-bots.done:
	case <-time.After(bound):
		r.ResyncNote = fmt.Sprintf("chaos run did not finish within %v; log: %s", bound, bots.log)
		return nil
	}
	line, err := lastJSONLine(bots.Stdout())
	var sum map[string]any
	if err == nil {
		err = json.Unmarshal([]byte(line), &sum)
	}
	if err != nil {
		r.ResyncNote = fmt.Sprintf("chaos run printed no summary (%v); log: %s", err, bots.log)
		return nil
	}
	keep := map[string]any{}
	for _, k := range []string{"bots", "connected", "chaos_kills", "disconnects", "resumes_ok", "resumes_snapshot", "resumes_delta",
		"resumes_failed", "players_lost", "resync_ms_p50", "resync_ms_p99", "resync_ms_max", "desyncs", "errors", "first_error"} {
		if v, ok := sum[k]; ok {
			keep[k] = v
		}
	}
	r.Chaos = keep
	if v, ok := sum["resync_ms_p99"].(float64); ok {
		r.ResyncP99 = &v
	} else {
		r.ResyncNote = "the chaos summary has no resync_ms_p99"
	}
	if v, ok := sum["resync_ms_p50"].(float64); ok {
		r.ResyncP50 = &v
	}
	return nil
}

// runFloor measures the transport floor: tickroom-floor serve and its
// load generator, with the same connections, input rate and pinning.
func runFloor(ctx context.Context, cfg Config, r *Result) error {
	log := cfg.Logger
	waitQuiet(ctx, cfg)
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{cfg.Floor, "serve", "--addr", addr, "--tick-rate", strconv.Itoa(cfg.TickRate)}
	if cfg.CPUProfile != "" {
		args = append(args, "--pprof")
	}
	srv, err := startChild("floor-serve", cfg.Pinning.Server, cfg.LogDir, args...)
	if err != nil {
		return err
	}
	defer srv.kill()
	metrics := "http://" + addr + "/metrics"
	if err := waitReady(ctx, srv, metrics); err != nil {
		return err
	}
	n := cfg.players()
	log.Info("starting floor load", "conns", n)
	load, err := startChild("floor-load", cfg.Pinning.Load, cfg.LogDir, cfg.Floor, "load",
		"--url", "ws://"+addr+"/ws", "--conns", strconv.Itoa(n), "--rate", strconv.Itoa(cfg.TickRate),
		"--duration", (cfg.joinAllowance() + cfg.Warmup + cfg.Window + 10*time.Second).String(),
		"--seed", strconv.FormatUint(cfg.Seed, 10), "--json")
	if err != nil {
		return err
	}
	defer load.kill()
	if err := waitGauge(ctx, load, metrics, "floor_connections", n, cfg.joinAllowance()); err != nil {
		return err
	}
	if err := sleep(ctx, cfg.Warmup); err != nil {
		return err
	}
	var profiled chan error
	if cfg.CPUProfile != "" {
		profiled = make(chan error, 1)
		go func() {
			profiled <- fetchProfile(ctx, "http://"+addr+"/debug/pprof/profile?seconds="+strconv.Itoa(int(cfg.Window.Seconds())), cfg.CPUProfile+".floor")
		}()
	}
	w, err := measureWindow(ctx, srv, load, metrics, cfg.Window)
	if err != nil {
		return err
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			return err
		}
		log.Info("floor CPU profile written", "file", cfg.CPUProfile+".floor")
	}
	if conns, _ := w.after.Value("floor_connections"); int(conns) != n {
		return fmt.Errorf("bench: floor: %v connections at the end of the window, want %d", conns, n)
	}
	load.Signal(syscall.SIGINT)
	if exited, _ := load.Wait(30 * time.Second); !exited {
		return fmt.Errorf("bench: the floor load generator did not stop after SIGINT; log: %s", load.log)
	}
	if err := srv.Stop(syscall.SIGTERM, 10*time.Second); err != nil {
		log.Warn("floor server did not exit cleanly", "err", err, "log", srv.log)
	}

	ticks, err := w.delta("floor_ticks_total")
	if err != nil {
		return err
	}
	playerTicks := float64(n) * ticks
	if playerTicks <= 0 {
		return errors.New("bench: floor: no ticks in the window")
	}
	overruns, _ := w.delta("floor_tick_overruns_total")
	playerTickRate := float64(n) * float64(cfg.TickRate) * ticks / (ticks + overruns) // as for tickroom
	sent, _ := w.delta("floor_sent_bytes_total")
	msgs, _ := w.delta("floor_sent_messages_total")
	h, err := w.histogram("floor_tick_lateness_seconds")
	if err != nil {
		return err
	}
	cpu := round(float64(w.serverCPU)/ClockTicks/w.seconds*1e6/playerTickRate, 2)
	rss := round(float64(w.mem.RSS)/1024, 1)
	r.FloorCPUPerPlayerTick, r.FloorRSSMB = &cpu, &rss
	r.FloorServerCPUPct = ptr(round(w.cpuPct(w.serverCPU), 1))
	r.FloorBytesPerPlayerTick = ptr(round(sent/playerTicks, 2))
	r.FloorFramesPerPlayerTick = ptr(round(msgs/playerTicks, 3))
	r.FloorLatenessP99 = ptr(ms(h.Quantile(0.99)))
	r.FloorLoadCPUPct = ptr(round(w.cpuPct(w.loadCPU), 1))
	if alloc, err := w.delta("floor_alloc_bytes_total"); err == nil {
		r.FloorAllocPerPlayerTick = ptr(round(alloc/playerTicks, 1))
	}
	if gc, err := w.delta("floor_gc_cycles_total"); err == nil {
		r.FloorGCCycles = &gc
	}
	if cpu > 0 {
		r.CPURatioVsFloor = ptr(round(r.CPUPerPlayerTick/cpu, 3))
	}
	if rss > 0 {
		r.RSSRatioVsFloor = ptr(round(r.RSSMB/rss, 2))
	}
	others := w.others
	r.FloorOthers = &others
	if others.Pct > cfg.ContendedPct {
		r.Contended = true
	}
	log.Info("floor measured", "cpu_us_per_player_tick", cpu, "rss_mb", rss, "contended", others.Pct > cfg.ContendedPct)
	return nil
}
