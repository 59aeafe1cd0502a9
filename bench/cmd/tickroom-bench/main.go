// Command tickroom-bench runs the arena benchmark (`make bench`) and its
// comparison with Colyseus (`make bench-compare`) and prints one JSON
// object on stdout; progress goes to stderr. See docs/BENCHMARKS.md.
//
//	tickroom-bench arena   --rooms 50 --players 10 --tickroom bin/tickroom --floor bin/tickroom-floor
//	tickroom-bench compare --rooms 50 --players 10 ... --colyseus ../shared/peers/colyseus
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tickroom/tickroom/bench"
	"github.com/tickroom/tickroom/bench/leanbot"
)

const usage = `Usage:
  tickroom-bench arena [flags]     tickroom + bots, the chaos variant and the transport floor
  tickroom-bench compare [flags]   the same, then the Colyseus peer benchmark, with ratios
  tickroom-bench leanbots [flags]  the lean load generator (run by arena --load lean)
Run "tickroom-bench arena -h" for the flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "leanbots" {
		return leanbots(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || (args[0] != "arena" && args[0] != "compare") {
		fmt.Fprint(stderr, usage)
		return 2
	}
	mode := args[0]
	fs := flag.NewFlagSet("tickroom-bench "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg bench.Config
	var noFloor bool
	fs.StringVar(&cfg.Tickroom, "tickroom", "bin/tickroom", "the tickroom binary")
	fs.StringVar(&cfg.Floor, "floor", "bin/tickroom-floor", "the tickroom-floor binary")
	fs.BoolVar(&noFloor, "no-floor", false, "skip the transport floor")
	fs.StringVar(&cfg.Load, "load", bench.LoadBots, `tickroom's load generator: "bots" (tickroom bot, checks desyncs) or "lean" (cheaper per player)`)
	fs.IntVar(&cfg.Rooms, "rooms", bench.DefaultRooms, "rooms (R)")
	fs.IntVar(&cfg.Players, "players", bench.DefaultPlayers, "players per room (P)")
	fs.IntVar(&cfg.TickRate, "tick-rate", bench.DefaultTickRate, "ticks (and inputs) per second")
	fs.DurationVar(&cfg.Warmup, "warmup", bench.DefaultWarmup, "warm-up once every player joined")
	fs.DurationVar(&cfg.Window, "window", bench.DefaultWindow, "measured window")
	fs.Uint64Var(&cfg.Seed, "seed", bench.DefaultSeed, "seed of the bots")
	fs.BoolVar(&cfg.NoChaos, "no-chaos", false, "skip the chaos variant (resync_ms_p99)")
	fs.Float64Var(&cfg.ChaosKillRate, "chaos-kill-rate", bench.DefaultChaosKillRate, "--chaos-kill-rate of the chaos bot run")
	fs.DurationVar(&cfg.ChaosDuration, "chaos-duration", bench.DefaultChaosDuration, "how long the chaos bots play")
	fs.DurationVar(&cfg.QuietWait, "quiet-wait", bench.DefaultQuietWait, "wait this long at most for other processes to go idle before each phase (negative: do not wait)")
	fs.IntVar(&cfg.RetryContended, "retry-contended", 0, "repeat a run contended by other processes up to this many times")
	fs.StringVar(&cfg.LogDir, "log-dir", os.TempDir(), "where the child processes' logs go")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a Go CPU profile of tickroom serve over the window to this file")
	noPin := fs.Bool("no-pin", false, "do not pin the processes to CPUs")
	serverCPUs := fs.String("server-cpus", "", "taskset CPU list for the servers (default 0 when there are ≥ 2 CPUs)")
	loadCPUs := fs.String("load-cpus", "", "taskset CPU list for the load generators (default 1 when there are ≥ 2 CPUs; 0,1 lets them use both)")
	var cc bench.CompareConfig
	if mode == "compare" {
		fs.StringVar(&cc.ColyseusDir, "colyseus", "../shared/peers/colyseus", "the Colyseus peer benchmark folder (holds run.sh)")
		fs.StringVar(&cc.WorkDir, "colyseus-work-dir", "", "where that folder is copied to run (default: the user cache dir)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if noFloor {
		cfg.Floor = ""
	}
	switch {
	case *noPin:
		cfg.Pinning = bench.Pinning{Why: "--no-pin"}
	case *serverCPUs != "" || *loadCPUs != "":
		cfg.Pinning = bench.DefaultPinning()
		if cfg.Pinning.Why != "" {
			fmt.Fprintf(stderr, "tickroom-bench: cannot pin: %s\n", cfg.Pinning.Why)
			return 2
		}
		if *serverCPUs != "" {
			cfg.Pinning.Server = *serverCPUs
		}
		if *loadCPUs != "" {
			cfg.Pinning.Load = *loadCPUs
		}
	}
	if self, err := os.Executable(); err == nil {
		cfg.LeanBots = self
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("bench", mode)

	var out any
	var err error
	var res bench.Result
	if mode == "arena" {
		res, err = bench.Run(ctx, cfg)
		out = res
	} else {
		cc.Arena, cc.Stderr = cfg, stderr
		var c bench.Comparison
		c, err = bench.Compare(ctx, cc)
		out, res = c, c.Tickroom
	}
	if err != nil {
		fmt.Fprintf(stderr, "tickroom-bench %s: %v\n", mode, err)
		return 1
	}
	b, _ := json.Marshal(out)
	fmt.Fprintln(stdout, string(b))
	if (res.Desyncs != nil && *res.Desyncs > 0) || res.BotErrors > 0 {
		fmt.Fprintf(stderr, "tickroom-bench %s: the bots saw desyncs or errors: %d errors (first: %s)\n", mode, res.BotErrors, res.BotFirstError)
		return 1
	}
	return 0
}

// leanbots runs the lean load generator and prints its summary.
func leanbots(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tickroom-bench leanbots", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg leanbot.Config
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "server HTTP base URL")
	fs.IntVar(&cfg.Bots, "bots", leanbot.DefaultBots, "players")
	fs.StringVar(&cfg.Room, "room", leanbot.DefaultRoom, "room type")
	fs.DurationVar(&cfg.Duration, "duration", leanbot.DefaultDuration, "how long each player plays once joined")
	fs.Float64Var(&cfg.Rate, "rate", leanbot.DefaultRate, "inputs per second per player")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the players' random choices")
	fs.IntVar(&cfg.Dials, "dials", leanbot.DefaultDials, "players connecting at the same time, at most")
	fs.Bool("json", true, "print the summary as one JSON line (always)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sum, err := leanbot.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tickroom-bench leanbots: %v\n", err)
		return 1
	}
	b, _ := json.Marshal(sum)
	fmt.Fprintln(stdout, string(b))
	return 0
}
