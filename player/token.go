package player

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// Limits from docs/PROTOCOL.md §1.
const (
	// MaxIDLen is the largest player ID, in bytes.
	MaxIDLen = 64
	// MaxNameLen is the largest display name, in bytes.
	MaxNameLen = 32
	// MaxTokenLen is the largest accepted token, in bytes. Longer tokens are
	// rejected before any parsing.
	MaxTokenLen = 4096
	// MinSecretLen is the smallest accepted HS256 key, in bytes.
	MinSecretLen = 32

	// DefaultTokenTTL is the lifetime of minted tokens when TokenConfig.TTL is 0.
	DefaultTokenTTL = 24 * time.Hour
	// tokenLeeway is the clock skew tolerated on exp (and nbf, if present).
	tokenLeeway = 5 * time.Second
)

// Errors returned by Verify, always wrapped; test with errors.Is. Their
// messages never contain the token text.
var (
	ErrNoToken      = errors.New("player: no token")
	ErrBadToken     = errors.New("player: invalid token")
	ErrExpiredToken = errors.New("player: token expired")
)

// Errors returned by Mint for arguments that could not round-trip through a
// valid token.
var (
	ErrBadID   = errors.New("player: invalid id")
	ErrBadName = errors.New("player: invalid name")
)

// ID is a player's stable identity: the JWT `sub` claim, 1..MaxIDLen bytes.
type ID string

// Claims is what a verified token says about its bearer.
type Claims struct {
	Player    ID        // the `sub` claim; never empty
	Name      string    // the `name` claim; may be empty, at most MaxNameLen bytes
	ExpiresAt time.Time // the `exp` claim
}

// TokenConfig configures NewTokens. Zero fields take the documented defaults.
type TokenConfig struct {
	// Secret is the HS256 key shared with game backends. Required, at least
	// MinSecretLen bytes. NewTokens copies it.
	Secret []byte
	// TTL is the lifetime of minted tokens; 0 means DefaultTokenTTL.
	TTL time.Duration
	// Now is the clock used to mint and verify; nil means time.Now.
	Now func() time.Time
}

// Tokens mints and verifies player tokens (HS256 JWTs). It is safe for
// concurrent use; neither method blocks.
type Tokens struct {
	secret []byte // immutable after NewTokens
	ttl    time.Duration
	now    func() time.Time
	parser *jwt.Parser // immutable after NewTokens; safe for concurrent parses
}

// tokenClaims is the JWT body: sub, name, iat, exp (others are ignored).
type tokenClaims struct {
	Name string `json:"name,omitempty"`
	jwt.RegisteredClaims
}

// NewTokens validates cfg and returns a Tokens.
func NewTokens(cfg TokenConfig) (*Tokens, error) {
	if len(cfg.Secret) < MinSecretLen {
		return nil, fmt.Errorf("player: token secret must be at least %d bytes, got %d", MinSecretLen, len(cfg.Secret))
	}
	if cfg.TTL < 0 {
		return nil, fmt.Errorf("player: token TTL must not be negative, got %v", cfg.TTL)
	}
	t := &Tokens{
		secret: append([]byte(nil), cfg.Secret...),
		ttl:    cfg.TTL,
		now:    cfg.Now,
	}
	if t.ttl == 0 {
		t.ttl = DefaultTokenTTL
	}
	if t.now == nil {
		t.now = time.Now
	}
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now),
		jwt.WithLeeway(tokenLeeway),
	)
	return t, nil
}

// Mint returns a signed token for player id with display name name, issued
// now and expiring after the configured TTL. id must be valid UTF-8 of
// 1..MaxIDLen bytes (else ErrBadID); name must be valid UTF-8 of at most
// MaxNameLen bytes (else ErrBadName). An empty name is omitted from the token.
func (t *Tokens) Mint(id ID, name string) (string, error) {
	if err := checkID(id); err != nil {
		return "", err
	}
	if len(name) > MaxNameLen || !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: must be valid UTF-8 of at most %d bytes", ErrBadName, MaxNameLen)
	}
	now := t.now()
	claims := tokenClaims{
		Name: name,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   string(id),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return "", fmt.Errorf("player: signing token: %w", err)
	}
	return s, nil
}

func checkID(id ID) error {
	if len(id) == 0 || len(id) > MaxIDLen || !utf8.ValidString(string(id)) {
		return fmt.Errorf("%w: must be valid UTF-8 of 1..%d bytes", ErrBadID, MaxIDLen)
	}
	return nil
}

// Verify checks token and returns its claims. It accepts only HS256 tokens
// signed with the configured secret, carrying an `exp` that is not past (with
// a few seconds of leeway), a `sub` of 1..MaxIDLen bytes and a `name` of at
// most MaxNameLen bytes (longer names are rejected, not truncated).
//
// Every error is or wraps exactly one of ErrNoToken (empty token), ErrExpiredToken
// (validly signed but expired) or ErrBadToken (everything else: too long,
// malformed, forged, wrong or `none` algorithm, missing exp, bad sub or name).
// The underlying jwt error is wrapped too, for logs; the token text never
// appears in the message.
func (t *Tokens) Verify(token string) (Claims, error) {
	if token == "" {
		return Claims{}, ErrNoToken
	}
	if len(token) > MaxTokenLen {
		return Claims{}, fmt.Errorf("%w: longer than %d bytes", ErrBadToken, MaxTokenLen)
	}
	var c tokenClaims
	_, err := t.parser.ParseWithClaims(token, &c, t.key)
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired): // only reported once the signature checked out
		return Claims{}, fmt.Errorf("%w: %w", ErrExpiredToken, err)
	default:
		return Claims{}, fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	if len(c.Subject) == 0 || len(c.Subject) > MaxIDLen {
		return Claims{}, fmt.Errorf("%w: sub must be 1..%d bytes", ErrBadToken, MaxIDLen)
	}
	if len(c.Name) > MaxNameLen {
		return Claims{}, fmt.Errorf("%w: name longer than %d bytes", ErrBadToken, MaxNameLen)
	}
	// The parser guarantees exp is present (WithExpirationRequired).
	return Claims{Player: ID(c.Subject), Name: c.Name, ExpiresAt: c.ExpiresAt.Time}, nil
}

// key is the jwt.Keyfunc. WithValidMethods already restricts alg to HS256;
// the type check is defence in depth.
func (t *Tokens) key(tok *jwt.Token) (any, error) {
	if _, ok := tok.Method.(*jwt.SigningMethodHMAC); !ok {
		return nil, errors.New("unexpected signing method")
	}
	return t.secret, nil
}

// Subprotocol is the WebSocket subprotocol a browser offers, together with
// SubprotocolBearerPrefix+token, to authenticate without putting the token
// in the URL (docs/PROTOCOL.md §1); the server answers with it.
const (
	Subprotocol             = "tickroom.v1"
	SubprotocolBearerPrefix = "bearer."
)

// TokenFromRequest returns the bearer token of r: from the header
// "Authorization: Bearer <token>" (scheme case-insensitive), else from a
// "Sec-WebSocket-Protocol" entry "bearer.<token>", else from the query
// parameter "access_token", else "". It does not verify the token.
func TokenFromRequest(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			if tok = strings.TrimSpace(tok); tok != "" {
				return tok
			}
		}
	}
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(h, ",") {
			if tok, ok := strings.CutPrefix(strings.TrimSpace(p), SubprotocolBearerPrefix); ok && tok != "" {
				return tok
			}
		}
	}
	if r.URL == nil {
		return ""
	}
	return r.URL.Query().Get("access_token")
}

// NewGuestID returns a fresh random player ID for a guest: "g_" followed by
// 26 lowercase base32 characters (128 random bits from crypto/rand).
func NewGuestID() ID {
	return ID("g_" + strings.ToLower(rand.Text()))
}

// RandomSecret returns a new 32-byte HS256 key from crypto/rand, for
// development servers started without a configured secret. Tokens minted with
// it do not survive a restart.
func RandomSecret() []byte {
	b := make([]byte, MinSecretLen)
	_, _ = rand.Read(b) // never returns an error; crashes the program if the system RNG fails
	return b
}
