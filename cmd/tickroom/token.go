package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/tickroom/tickroom/player"
)

// Token is `tickroom token`: it mints a player token with the configured secret.
type Token struct {
	Player string
	Name   string
	Secret string
	TTL    time.Duration
}

// Flags registers the command's flags.
func (t *Token) Flags(fs *flag.FlagSet) {
	fs.StringVar(&t.Player, "player", "", "player ID (the token's sub), 1..64 bytes (required)")
	fs.StringVar(&t.Name, "name", "", "display name, at most 32 bytes")
	fs.StringVar(&t.Secret, "token-secret", "", "HS256 secret shared with the server, at least 32 bytes (required)")
	fs.DurationVar(&t.TTL, "ttl", 24*time.Hour, "token lifetime")
}

// Run prints the token on stdout.
func (t *Token) Run(ctx context.Context, stdout, stderr io.Writer) error {
	if t.Player == "" {
		return errors.New("--player is required")
	}
	if t.Secret == "" {
		return errors.New("--token-secret (or TICKROOM_TOKEN_SECRET) is required: a token is only useful with the server's secret")
	}
	tokens, err := player.NewTokens(player.TokenConfig{Secret: []byte(t.Secret), TTL: t.TTL})
	if err != nil {
		return err
	}
	tok, err := tokens.Mint(player.ID(t.Player), t.Name)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
