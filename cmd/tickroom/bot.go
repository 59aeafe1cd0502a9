package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/tickroom/tickroom/bot"
)

// Bot is `tickroom bot`: headless bots against a running server.
type Bot struct {
	cfg  bot.Config
	JSON bool
}

// Flags registers the command's flags.
func (b *Bot) Flags(fs *flag.FlagSet) {
	b.cfg.Flags(fs)
	fs.BoolVar(&b.JSON, "json", false, "print the summary as one JSON object (always the last line of stdout)")
}

// Run runs the bots and prints the summary; it fails on any desync or error.
func (b *Bot) Run(ctx context.Context, stdout, stderr io.Writer) error {
	b.cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sum, err := bot.Run(ctx, b.cfg)
	if err != nil {
		return err
	}
	if b.JSON {
		out, _ := json.Marshal(sum)
		fmt.Fprintln(stdout, string(out))
	} else {
		out, _ := json.MarshalIndent(sum, "", "  ")
		fmt.Fprintln(stdout, string(out))
	}
	if !sum.OK() {
		return exitCode(1)
	}
	return nil
}
