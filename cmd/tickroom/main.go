// Command tickroom is the tickroom binary: the room server (serve), headless
// bots (bot) and a token minting tool (token).
//
// main only wires signals into the subcommand's Run; everything else lives
// in types the end-to-end tests run too.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `tickroom — an authoritative multiplayer game room server

Usage:
  tickroom serve [flags]   run the server (GET /ws, POST /v1/auth/guest, GET /healthz, GET /readyz);
                           SIGTERM/SIGINT drain it (--drain)
  tickroom bot [flags]     run headless bots against a server and print a JSON summary
  tickroom token [flags]   mint a player token with the configured secret

Every flag can also be set with an environment variable: --token-secret is
TICKROOM_TOKEN_SECRET, --addr is TICKROOM_ADDR, and so on. Flags win.
Run "tickroom <command> -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var cmd interface {
		Flags(fs *flag.FlagSet)
		Run(ctx context.Context, stdout, stderr io.Writer) error
	}
	switch args[0] {
	case "serve":
		cmd = &Serve{}
	case "bot":
		cmd = &Bot{}
	case "token":
		cmd = &Token{}
	default:
		fmt.Fprintf(stderr, "tickroom: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	fs := flag.NewFlagSet("tickroom "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	cmd.Flags(fs)
	if err := parseFlags(fs, args[1:], os.LookupEnv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := cmd.Run(ctx, stdout, stderr); err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			return int(ec)
		}
		fmt.Fprintf(stderr, "tickroom %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// exitCode is an error that only carries a process exit status (the
// command already reported what went wrong).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// parseFlags applies TICKROOM_* environment variables as defaults, then
// the command line.
func parseFlags(fs *flag.FlagSet, args []string, env func(string) (string, bool)) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "TICKROOM_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := env(name); ok && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, e)
			}
		}
	})
	if err != nil {
		fmt.Fprintln(fs.Output(), err)
		return err
	}
	return fs.Parse(args)
}
