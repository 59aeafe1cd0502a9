package matchmaking

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tickroom/tickroom/internal/jsonapi"

	"github.com/tickroom/tickroom/player"
)

// routes registers every endpoint. Each path also gets a method-less
// pattern, which the mux prefers less than the method one, so a wrong
// method is answered 405 in JSON; anything else under /v1/ is a JSON 404.
func (s *Service) routes() {
	s.mux = http.NewServeMux()
	add := func(method, path string, e endpoint) {
		s.mux.Handle(method+" "+path, s.handle(e))
		s.mux.Handle(path, methodNotAllowed(method))
	}
	add("POST", "/v1/matchmake/join-or-create", endpoint{auth: authPlayer, body: true, reserves: true, fn: s.joinOrCreate})
	add("POST", "/v1/matchmake/create", endpoint{auth: authPlayer, body: true, reserves: true, fn: s.create})
	add("POST", "/v1/matchmake/join", endpoint{auth: authPlayer, body: true, reserves: true, fn: s.join})
	add("GET", "/v1/rooms", endpoint{auth: authPlayer, fn: s.listRooms})
	add("POST", "/v1/matchmaking/tickets", endpoint{auth: authPlayer, body: true, reserves: true, fn: s.createTicket})
	s.mux.Handle("GET /v1/matchmaking/tickets/{id}", s.handle(endpoint{auth: authPlayer, fn: s.getTicket}))
	s.mux.Handle("DELETE /v1/matchmaking/tickets/{id}", s.handle(endpoint{auth: authPlayer, fn: s.cancelTicket}))
	s.mux.Handle("/v1/matchmaking/tickets/{id}", methodNotAllowed("GET, DELETE"))
	add("GET", "/v1/matchmaking/stats", endpoint{auth: authEither, fn: s.serveStats})
	if s.cfg.APIKey != "" {
		add("POST", "/v1/reservations", endpoint{auth: authAPIKey, body: true, reserves: true, fn: s.reserveSeats})
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		jsonapi.WriteError(w, apiErr(http.StatusNotFound, "not_found", "no such endpoint"))
	})
}

func methodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		jsonapi.WriteError(w, apiErr(http.StatusMethodNotAllowed, "method_not_allowed", "method must be "+allow))
	})
}

type authKind int

const (
	authPlayer authKind = iota // a player token
	authAPIKey                 // the API key
	authEither                 // either
)

// endpoint describes one operation; Service.handle does what every
// operation shares around fn.
type endpoint struct {
	auth authKind
	// body: the request has a JSON body; POSTs by players are rate
	// limited, and an Idempotency-Key is honoured.
	body bool
	// reserves: the endpoint reserves seats or queues a ticket; it is
	// refused (503 shutting_down) once Drain was called.
	reserves bool
	fn       func(r *http.Request, c caller, body []byte) (reply, error)
}

// caller is the authenticated client: a player, or the game's backend.
type caller struct {
	player player.ID // "" for the API key
}

func (c caller) principal() string {
	if c.player == "" {
		return "\x00api" // not a valid player ID
	}
	return string(c.player)
}

// reply is a successful answer.
type reply struct {
	status   int
	v        any
	location string    // Location header, if set
	until    time.Time // replay it for its Idempotency-Key until then; zero: IdempotencyTTL from now
}

// handle runs, in order: shutdown (and drain) check, authentication (401/403), the
// rate limit (429), Content-Type (415) and size (413) checks, the
// idempotency replay, then fn; errors are mapped in one place (errorFor).
func (s *Service) handle(e endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.closed.Load() || (e.reserves && s.draining.Load()) {
			jsonapi.WriteError(w, errShuttingDown)
			return
		}
		c, aerr := s.authenticate(r, e.auth)
		if aerr != nil {
			if aerr.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="tickroom"`)
			}
			jsonapi.WriteError(w, aerr)
			return
		}
		var body []byte
		if e.body {
			if c.player != "" {
				if ok, wait := s.lim.allow(c.player, s.clock.Now()); !ok {
					w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
					jsonapi.WriteError(w, apiErr(http.StatusTooManyRequests, "rate_limited", "too many requests; retry later"))
					return
				}
			}
			var berr *Error
			if body, berr = jsonapi.ReadBody(w, r); berr != nil {
				jsonapi.WriteError(w, berr)
				return
			}
		}
		var slot *idemEntry
		if key := r.Header.Get("Idempotency-Key"); key != "" && e.body {
			if !validKey(key) {
				jsonapi.WriteError(w, badRequest("Idempotency-Key must be 1..255 printable ASCII characters"))
				return
			}
			fp := sha256.Sum256(append([]byte(r.Method+" "+r.URL.Path+"\n"), body...))
			entry, owner, err := s.idem.begin(r.Context(), idemKey{c.principal(), key}, fp, s.clock)
			switch {
			case err != nil:
				ae, _ := errorFor(err)
				writeError(w, ae)
				return
			case !owner:
				w.Header().Set("Idempotent-Replayed", "true")
				jsonapi.Write(w, entry.answer.status, entry.answer.location, entry.answer.body)
				return
			}
			slot = entry
			// Retries waiting on this key are released even if fn panics.
			defer func() { s.idem.finish(slot, nil) }()
		}
		rep, err := e.fn(r, c, body)
		if err != nil {
			ae, expected := errorFor(err)
			if !expected {
				s.log.Error("matchmaking request failed", "path", r.URL.Path, "err", err)
			}
			if ae == errUnavailable {
				s.log.Warn("matchmaking: store unavailable", "path", r.URL.Path, "err", err)
			}
			writeError(w, ae)
			return
		}
		b, err := json.Marshal(rep.v)
		if err != nil {
			s.log.Error("encoding a matchmaking answer", "path", r.URL.Path, "err", err)
			jsonapi.WriteError(w, errInternal)
			return
		}
		b = append(b, '\n')
		until := rep.until
		if until.IsZero() {
			until = s.clock.Now().Add(s.cfg.IdempotencyTTL)
		}
		s.idem.finish(slot, &idemAnswer{status: rep.status, location: rep.location, body: b, until: until})
		slot = nil
		jsonapi.Write(w, rep.status, rep.location, b)
	})
}

// authenticate checks the bearer token against what the endpoint takes.
func (s *Service) authenticate(r *http.Request, kind authKind) (caller, *Error) {
	tok := bearer(r)
	if tok == "" {
		return caller{}, errUnauthorized
	}
	if kind != authPlayer && s.cfg.APIKey != "" {
		h := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(h[:], s.apiKey[:]) == 1 {
			return caller{}, nil
		}
	}
	claims, err := s.cfg.Tokens.Verify(tok)
	switch {
	case err != nil:
		return caller{}, errUnauthorized
	case kind == authAPIKey:
		return caller{}, apiErr(http.StatusForbidden, "forbidden", "this endpoint takes the API key, not a player token")
	}
	return caller{player: claims.Player}, nil
}

// bearer returns the token of "Authorization: Bearer <token>" (scheme
// case-insensitive), or "". Unlike the WebSocket handshake, the API takes
// no token in the query string: URLs end up in logs.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// decode strictly decodes one JSON object (jsonapi.Decode), as an error
// (nil stays a nil interface).
func decode(body []byte, v any) error {
	if e := jsonapi.Decode(body, v); e != nil {
		return e
	}
	return nil
}

// wsURL is the WebSocket URL a reservation is taken on.
func (s *Service) wsURL(r *http.Request) string {
	if s.publicWS != "" {
		return s.publicWS
	}
	scheme := "ws"
	if r.TLS != nil || (s.cfg.TrustForwardedProto && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")) {
		scheme = "wss"
	}
	return scheme + "://" + r.Host + "/ws"
}

// ---- input checks ----

const (
	maxModeLen   = 64
	maxMapLen    = 16
	maxKeyLen    = 64
	maxValueLen  = 256
	maxRegionLen = 32
)

func checkMode(mode string) error {
	if mode == "" || len(mode) > maxModeLen || !utf8.ValidString(mode) {
		return badRequest("mode must be 1..64 bytes of UTF-8")
	}
	return nil
}

func checkMap(field string, m map[string]string) error {
	if len(m) > maxMapLen {
		return badRequest(field + " has more than 16 entries")
	}
	for k, v := range m {
		if k == "" || len(k) > maxKeyLen || len(v) > maxValueLen || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return badRequest(field + ": keys must be 1..64 bytes, values at most 256 bytes, both UTF-8")
		}
	}
	return nil
}

func checkPlayerID(id player.ID) error {
	if id == "" || len(id) > player.MaxIDLen || !utf8.ValidString(string(id)) {
		return badRequest("player IDs must be 1..64 bytes of UTF-8")
	}
	return nil
}

// validKey: 1..255 printable ASCII characters.
func validKey(k string) bool {
	if len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return k != ""
}
