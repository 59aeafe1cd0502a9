package player

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	testSecret  = []byte("0123456789abcdef0123456789abcdef")
	otherSecret = []byte("fedcba9876543210fedcba9876543210")
	testNow     = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
)

func newTestTokens(t *testing.T, now func() time.Time) *Tokens {
	t.Helper()
	if now == nil {
		now = func() time.Time { return testNow }
	}
	tk, err := NewTokens(TokenConfig{Secret: testSecret, TTL: time.Hour, Now: now})
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	return tk
}

// sign signs claims with method and key, as a foreign backend would.
func sign(t *testing.T, method jwt.SigningMethod, key []byte, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestNewTokensConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     TokenConfig
		wantErr bool
	}{
		{"valid", TokenConfig{Secret: testSecret}, false},
		{"no secret", TokenConfig{}, true},
		{"short secret", TokenConfig{Secret: testSecret[:31]}, true},
		{"negative TTL", TokenConfig{Secret: testSecret, TTL: -time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewTokens(tt.cfg)
			if got := err != nil; got != tt.wantErr {
				t.Errorf("NewTokens err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewTokensCopiesSecret(t *testing.T) {
	secret := bytes.Clone(testSecret)
	tk, err := NewTokens(TokenConfig{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tk.Mint("p1", "")
	if err != nil {
		t.Fatal(err)
	}
	secret[0] ^= 0xff
	if _, err := tk.Verify(tok); err != nil {
		t.Errorf("Verify after caller mutated its secret: %v, want nil", err)
	}
}

func TestMintVerifyRoundTrip(t *testing.T) {
	tk := newTestTokens(t, nil)
	tests := []struct {
		id   ID
		name string
	}{
		{"p1", "Ada"},
		{"p2", ""},
		{ID(strings.Repeat("x", MaxIDLen)), strings.Repeat("é", MaxNameLen/2)},
		{NewGuestID(), "Grace Hopper"},
	}
	for _, tt := range tests {
		t.Run(string(tt.id), func(t *testing.T) {
			tok, err := tk.Mint(tt.id, tt.name)
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			got, err := tk.Verify(tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := Claims{Player: tt.id, Name: tt.name, ExpiresAt: testNow.Add(time.Hour)}
			if got.Player != want.Player || got.Name != want.Name || !got.ExpiresAt.Equal(want.ExpiresAt) {
				t.Errorf("Verify = %+v, want %+v", got, want)
			}
		})
	}
}

func TestMintDefaultTTL(t *testing.T) {
	tk, err := NewTokens(TokenConfig{Secret: testSecret, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tk.Mint("p1", "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tk.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.ExpiresAt, testNow.Add(DefaultTokenTTL); !got.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v", got, want)
	}
}

func TestMintRejects(t *testing.T) {
	tk := newTestTokens(t, nil)
	tests := []struct {
		name  string
		id    ID
		pname string
		want  error
	}{
		{"empty id", "", "Ada", ErrBadID},
		{"long id", ID(strings.Repeat("x", MaxIDLen+1)), "Ada", ErrBadID},
		{"non-UTF-8 id", "p\xff", "Ada", ErrBadID},
		{"long name", "p1", strings.Repeat("n", MaxNameLen+1), ErrBadName},
		{"non-UTF-8 name", "p1", "A\xffda", ErrBadName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tk.Mint(tt.id, tt.pname)
			if !errors.Is(err, tt.want) {
				t.Errorf("Mint err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestVerifyRejects is the handshake table of docs/PROTOCOL.md §1.
func TestVerifyRejects(t *testing.T) {
	tk := newTestTokens(t, nil)
	exp := testNow.Add(time.Hour).Unix()
	valid := jwt.MapClaims{"sub": "p1", "name": "Ada", "exp": exp}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range valid {
			c[k] = v
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	good := sign(t, jwt.SigningMethodHS256, testSecret, valid)
	hdr, body, _ := strings.Cut(good, ".")
	body, _, _ = strings.Cut(body, ".")

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"no token", "", ErrNoToken},
		{"garbage", "not-a-token", ErrBadToken},
		{"three garbage parts", "a.b.c", ErrBadToken},
		{"bad signature", sign(t, jwt.SigningMethodHS256, otherSecret, valid), ErrBadToken},
		{"tampered body", hdr + "." + b64(`{"sub":"admin","exp":`+strconv.FormatInt(exp, 10)+`}`) + "." + strings.SplitN(good, ".", 3)[2], ErrBadToken},
		{"alg none", b64(`{"alg":"none","typ":"JWT"}`) + "." + body + ".", ErrBadToken},
		{"alg none uppercase", b64(`{"alg":"NONE","typ":"JWT"}`) + "." + body + ".", ErrBadToken},
		{"HS384 with right secret", sign(t, jwt.SigningMethodHS384, testSecret, valid), ErrBadToken},
		{"RS256 header", b64(`{"alg":"RS256","typ":"JWT"}`) + "." + body + "." + b64("sig"), ErrBadToken},
		{"expired", sign(t, jwt.SigningMethodHS256, testSecret, with("exp", testNow.Add(-time.Minute).Unix())), ErrExpiredToken},
		{"expired, bad signature", sign(t, jwt.SigningMethodHS256, otherSecret, with("exp", testNow.Add(-time.Minute).Unix())), ErrBadToken},
		{"missing exp", sign(t, jwt.SigningMethodHS256, testSecret, with("exp", nil)), ErrBadToken},
		{"exp not a number", sign(t, jwt.SigningMethodHS256, testSecret, with("exp", "tomorrow")), ErrBadToken},
		{"not valid yet", sign(t, jwt.SigningMethodHS256, testSecret, with("nbf", testNow.Add(time.Minute).Unix())), ErrBadToken},
		{"missing sub", sign(t, jwt.SigningMethodHS256, testSecret, with("sub", nil)), ErrBadToken},
		{"empty sub", sign(t, jwt.SigningMethodHS256, testSecret, with("sub", "")), ErrBadToken},
		{"sub not a string", sign(t, jwt.SigningMethodHS256, testSecret, with("sub", 42)), ErrBadToken},
		{"long sub", sign(t, jwt.SigningMethodHS256, testSecret, with("sub", strings.Repeat("x", MaxIDLen+1))), ErrBadToken},
		{"long name", sign(t, jwt.SigningMethodHS256, testSecret, with("name", strings.Repeat("n", MaxNameLen+1))), ErrBadToken},
		{"100 KB of dots", strings.Repeat(".", 100<<10), ErrBadToken},
		{"just over 4 KiB", good + "." + strings.Repeat("a", MaxTokenLen), ErrBadToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tk.Verify(tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify err = %v, want %v", err, tt.want)
			}
			for _, other := range []error{ErrNoToken, ErrBadToken, ErrExpiredToken} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("Verify err = %v also matches %v", err, other)
				}
			}
			if got != (Claims{}) {
				t.Errorf("Verify claims = %+v, want zero on error", got)
			}
			if len(tt.token) > 8 && strings.Contains(err.Error(), tt.token) {
				t.Errorf("Verify error message contains the token text")
			}
			if strings.Contains(err.Error(), body) {
				t.Errorf("Verify error message contains the token body")
			}
		})
	}
}

func TestVerifyLeeway(t *testing.T) {
	exp := testNow.Add(time.Hour)
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"before exp", exp.Add(-time.Second), nil},
		{"at exp, within leeway", exp, nil},
		{"3s after exp, within leeway", exp.Add(3 * time.Second), nil},
		{"6s after exp", exp.Add(6 * time.Second), ErrExpiredToken},
		{"a day after exp", exp.Add(24 * time.Hour), ErrExpiredToken},
	}
	minter := newTestTokens(t, nil)
	tok, err := minter.Mint("p1", "Ada")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := newTestTokens(t, func() time.Time { return tt.now })
			_, err := tk.Verify(tok)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify at %v: err = %v, want %v", tt.now, err, tt.want)
			}
		})
	}
}

func TestVerifyWrapsJWTError(t *testing.T) {
	tk := newTestTokens(t, nil)
	_, err := tk.Verify(sign(t, jwt.SigningMethodHS256, otherSecret, jwt.MapClaims{"sub": "p1", "exp": testNow.Add(time.Hour).Unix()}))
	if !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Errorf("Verify err = %v, want it to wrap jwt.ErrTokenSignatureInvalid", err)
	}
}

func TestTokenFromRequest(t *testing.T) {
	tests := []struct {
		name   string
		header string
		query  string
		want   string
	}{
		{"header", "Bearer abc.def.ghi", "", "abc.def.ghi"},
		{"lowercase bearer", "bearer abc", "", "abc"},
		{"uppercase bearer", "BEARER abc", "", "abc"},
		{"extra spaces", "  Bearer   abc  ", "", "abc"},
		{"query", "", "access_token=q.r.s", "q.r.s"},
		{"both: header wins", "Bearer h", "access_token=q", "h"},
		{"other scheme falls back to query", "Basic dXNlcjpwdw==", "access_token=q", "q"},
		{"empty bearer falls back to query", "Bearer ", "access_token=q", "q"},
		{"other scheme, no query", "Basic dXNlcjpwdw==", "", ""},
		{"scheme only", "Bearer", "", ""},
		{"neither", "", "", ""},
		{"other query parameter", "", "token=x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "/ws"
			if tt.query != "" {
				target += "?" + tt.query
			}
			r := httptest.NewRequest("GET", target, nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			if got := TokenFromRequest(r); got != tt.want {
				t.Errorf("TokenFromRequest = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewGuestID(t *testing.T) {
	seen := make(map[ID]bool)
	for range 100 {
		id := NewGuestID()
		if err := checkID(id); err != nil {
			t.Fatalf("NewGuestID() = %q: %v", id, err)
		}
		if !strings.HasPrefix(string(id), "g_") || strings.ToLower(string(id)) != string(id) {
			t.Fatalf("NewGuestID() = %q, want lowercase with prefix g_", id)
		}
		if seen[id] {
			t.Fatalf("NewGuestID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestRandomSecret(t *testing.T) {
	a, b := RandomSecret(), RandomSecret()
	if len(a) != MinSecretLen {
		t.Fatalf("len(RandomSecret()) = %d, want %d", len(a), MinSecretLen)
	}
	if bytes.Equal(a, b) {
		t.Errorf("two RandomSecret() calls returned the same key")
	}
	if _, err := NewTokens(TokenConfig{Secret: a}); err != nil {
		t.Errorf("NewTokens(RandomSecret()): %v", err)
	}
}
