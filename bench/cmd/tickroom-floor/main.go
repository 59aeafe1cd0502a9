// Command tickroom-floor is the transport floor of the arena benchmark: a
// bare gws server writing one pre-encoded frame per connection per tick
// (serve), and its load generator (load). `tickroom-bench` runs both;
// see docs/BENCHMARKS.md.
//
//	tickroom-floor serve --addr 127.0.0.1:9000 [--tick-rate 20] [--frame-size 40]
//	tickroom-floor load --url ws://127.0.0.1:9000/ws --conns 500 --duration 40s --json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tickroom/tickroom/bench/floor"
)

const usage = `Usage:
  tickroom-floor serve [flags]   the floor server (GET /ws, GET /metrics)
  tickroom-floor load [flags]    the floor load generator; prints a JSON summary
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("tickroom-floor "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var err error
	switch args[0] {
	case "serve":
		var cfg floor.Config
		addr := fs.String("addr", "127.0.0.1:9000", "listen address")
		fs.IntVar(&cfg.TickRate, "tick-rate", floor.DefaultTickRate, "ticks per second")
		fs.IntVar(&cfg.FrameSize, "frame-size", floor.DefaultFrameSize, "bytes of the frame written to each connection per tick")
		fs.IntVar(&cfg.ReadBufferSize, "read-buffer", floor.DefaultReadBufferSize, "gws read buffer per connection, bytes")
		pprof := fs.Bool("pprof", false, "serve Go profiles at /debug/pprof/")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		err = serve(ctx, *addr, cfg, *pprof, stderr)
	case "load":
		var cfg floor.LoadConfig
		asJSON := fs.Bool("json", false, "print the summary as one JSON line")
		fs.StringVar(&cfg.URL, "url", "ws://127.0.0.1:9000/ws", "server WebSocket URL")
		fs.IntVar(&cfg.Conns, "conns", floor.DefaultConns, "connections")
		fs.Float64Var(&cfg.Rate, "rate", floor.DefaultRate, "inputs per second per connection")
		fs.IntVar(&cfg.InputSize, "input-size", floor.DefaultInputSize, "bytes per input")
		fs.IntVar(&cfg.Dials, "dials", floor.DefaultDials, "connections opened at the same time, at most")
		fs.DurationVar(&cfg.Duration, "duration", floor.DefaultDuration, "how long each connection sends once connected")
		fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the schedule phases")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		var sum floor.LoadSummary
		if sum, err = floor.RunLoad(ctx, cfg); err == nil {
			var out []byte
			if *asJSON {
				out, _ = json.Marshal(sum)
			} else {
				out, _ = json.MarshalIndent(sum, "", "  ")
			}
			fmt.Fprintln(stdout, string(out))
		}
	default:
		fmt.Fprintf(stderr, "tickroom-floor: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "tickroom-floor %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// serve runs the floor server until ctx ends.
func serve(ctx context.Context, addr string, cfg floor.Config, withPprof bool, stderr io.Writer) error {
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := floor.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	handler := s.Handler()
	if withPprof {
		mux := http.NewServeMux()
		mux.Handle("/", handler)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		handler = mux
	}
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	ticked := make(chan error, 1)
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { ticked <- s.Run(tctx) }()
	fmt.Fprintf(stderr, "tickroom-floor serving on %s\n", ln.Addr())

	select {
	case err = <-served:
	case <-ctx.Done():
	}
	cancel()
	<-ticked // closes the WebSockets
	sctx, scancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer scancel()
	if e := hs.Shutdown(sctx); e != nil && !errors.Is(e, context.DeadlineExceeded) && err == nil {
		err = e
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
