package matchmaking_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// The API error table (docs/API.md): each row's status and code, every
// answer validated against docs/openapi.yaml (its status must be listed
// for the operation and its code in the Error enum).
func TestAPIErrorTable(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *mmConfig) { c.RateLimit = rate.Inf }})
	player := e.Token(t, "p")
	// Fixtures: a full room, a locked room, a queued ticket, someone else's ticket.
	var full, locked reservation
	e.post("owner", "/v1/matchmake/create", `{"mode": "arena"}`, 200).decode(t, &full)
	for i := range 9 {
		e.post(fmt.Sprint("f", i), "/v1/matchmake/join", fmt.Sprintf(`{"room_id": %q}`, full.RoomID), 200)
	}
	e.post("owner", "/v1/matchmake/create", `{"mode": "locked"}`, 200).decode(t, &locked)
	waitLocked(t, e, locked.RoomID)
	e.post("p", "/v1/matchmaking/tickets", `{"mode": "arena-players"}`, 201)
	var other ticket
	e.post("q", "/v1/matchmaking/tickets", `{"mode": "arena-players"}`, 201).decode(t, &other)

	big := `{"mode": "arena", "filters": {"k": "` + strings.Repeat("x", 70<<10) + `"}}`
	joc := "/v1/matchmake/join-or-create"
	for _, tc := range []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"no token", request{method: "POST", path: joc, body: `{"mode":"arena"}`}, 401, "unauthorized"},
		{"bad token", request{method: "POST", path: joc, auth: "nope", body: `{"mode":"arena"}`}, 401, "unauthorized"},
		{"token in the query string is not taken", request{method: "GET", path: "/v1/rooms?access_token=" + player}, 401, "unauthorized"},
		{"API key is not a player", request{method: "POST", path: joc, auth: apiKey, body: `{"mode":"arena"}`}, 401, "unauthorized"},
		{"malformed JSON", request{method: "POST", path: joc, auth: player, body: `{"mode":`, contract: badRequest}, 400, "bad_request"},
		{"unknown field", request{method: "POST", path: joc, auth: player, body: `{"mode":"arena","x":1}`, contract: badRequest}, 400, "bad_request"},
		{"wrong type", request{method: "POST", path: joc, auth: player, body: `{"mode":7}`, contract: badRequest}, 400, "bad_request"},
		{"trailing data", request{method: "POST", path: joc, auth: player, body: `{"mode":"arena"} {}`, contract: responseOnly}, 400, "bad_request"},
		{"not an object", request{method: "POST", path: joc, auth: player, body: `["arena"]`, contract: badRequest}, 400, "bad_request"},
		{"empty body", request{method: "POST", path: joc, auth: player, contract: badRequest}, 400, "bad_request"},
		{"missing mode", request{method: "POST", path: joc, auth: player, body: `{}`, contract: badRequest}, 400, "bad_request"},
		{"too many filters", request{method: "POST", path: joc, auth: player, contract: badRequest,
			body: `{"mode":"arena","filters":{"a":"","b":"","c":"","d":"","e":"","f":"","g":"","h":"","i":"","j":"","k":"","l":"","m":"","n":"","o":"","p":"","q":""}}`}, 400, "bad_request"},
		{"body over 64 KiB", request{method: "POST", path: joc, auth: player, body: big, contract: badRequest}, 413, "too_large"},
		{"wrong Content-Type", request{method: "POST", path: joc, auth: player, body: `{"mode":"arena"}`, contract: badRequest,
			header: map[string]string{"Content-Type": "text/plain"}}, 415, "unsupported_media_type"},
		{"bad Idempotency-Key", request{method: "POST", path: joc, auth: player, body: `{"mode":"arena"}`, contract: badRequest,
			header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}}, 400, "bad_request"},
		{"unknown mode", request{method: "POST", path: joc, auth: player, body: `{"mode":"chess"}`}, 404, "unknown_mode"},
		{"create unknown mode", request{method: "POST", path: "/v1/matchmake/create", auth: player, body: `{"mode":"chess"}`}, 404, "unknown_mode"},
		{"list unknown mode", request{method: "GET", path: "/v1/rooms?mode=chess", auth: player}, 404, "unknown_mode"},
		{"join neither room_id nor code", request{method: "POST", path: "/v1/matchmake/join", auth: player, body: `{}`}, 400, "bad_request"},
		{"join both room_id and code", request{method: "POST", path: "/v1/matchmake/join", auth: player, body: `{"room_id":"r1","code":"ABCDEF"}`}, 400, "bad_request"},
		{"join unknown room", request{method: "POST", path: "/v1/matchmake/join", auth: player, body: `{"room_id":"rNOPE"}`}, 404, "room_not_found"},
		{"join unknown code", request{method: "POST", path: "/v1/matchmake/join", auth: player, body: `{"code":"ZZZZZZ"}`}, 404, "room_not_found"},
		{"join a full room", request{method: "POST", path: "/v1/matchmake/join", auth: player, body: fmt.Sprintf(`{"room_id":%q}`, full.RoomID)}, 409, "room_full"},
		{"join a locked room", request{method: "POST", path: "/v1/matchmake/join", auth: player, body: fmt.Sprintf(`{"room_id":%q}`, locked.RoomID)}, 409, "room_locked"},
		{"ticket in a mode without a queue", request{method: "POST", path: "/v1/matchmaking/tickets", auth: player, body: `{"mode":"arena"}`}, 404, "unknown_mode"},
		{"ticket in an unknown mode", request{method: "POST", path: "/v1/matchmaking/tickets", auth: player, body: `{"mode":"chess"}`}, 404, "unknown_mode"},
		{"second live ticket", request{method: "POST", path: "/v1/matchmaking/tickets", auth: player, body: `{"mode":"arena-players"}`}, 409, "ticket_exists"},
		{"party member already queued", request{method: "POST", path: "/v1/matchmaking/tickets", auth: e.Token(t, "r"), body: `{"mode":"arena-players","party":["q"]}`}, 409, "ticket_exists"},
		{"party larger than a team", request{method: "POST", path: "/v1/matchmaking/tickets", auth: e.Token(t, "r"), body: `{"mode":"arena-players","party":["s","u"]}`}, 400, "bad_request"},
		{"rating out of range", request{method: "POST", path: "/v1/matchmaking/tickets", auth: e.Token(t, "r"), body: `{"mode":"arena-players","rating":1e9}`, contract: badRequest}, 400, "bad_request"},
		{"someone else's ticket", request{method: "GET", path: "/v1/matchmaking/tickets/" + other.TicketID, auth: player}, 404, "ticket_not_found"},
		{"cancel someone else's ticket", request{method: "DELETE", path: "/v1/matchmaking/tickets/" + other.TicketID, auth: player}, 404, "ticket_not_found"},
		{"unknown ticket", request{method: "GET", path: "/v1/matchmaking/tickets/tNOPE", auth: player}, 404, "ticket_not_found"},
		{"reservations without a key", request{method: "POST", path: "/v1/reservations", body: `{"mode":"arena","players":["x"]}`}, 401, "unauthorized"},
		{"reservations with a wrong key", request{method: "POST", path: "/v1/reservations", auth: apiKey + "x", body: `{"mode":"arena","players":["x"]}`}, 401, "unauthorized"},
		{"reservations with a player token", request{method: "POST", path: "/v1/reservations", auth: player, body: `{"mode":"arena","players":["x"]}`}, 403, "forbidden"},
		{"reservations for nobody", request{method: "POST", path: "/v1/reservations", auth: apiKey, body: `{"mode":"arena","players":[]}`, contract: badRequest}, 400, "bad_request"},
		{"reservations with a duplicate player", request{method: "POST", path: "/v1/reservations", auth: apiKey, body: `{"mode":"arena","players":["x","x"]}`}, 400, "bad_request"},
		{"reservations in an unknown room", request{method: "POST", path: "/v1/reservations", auth: apiKey, body: `{"mode":"arena","room_id":"rNOPE","players":["x"]}`}, 404, "room_not_found"},
		{"stats without a token", request{method: "GET", path: "/v1/matchmaking/stats"}, 401, "unauthorized"},
		{"unknown endpoint", request{method: "GET", path: "/v1/nope", auth: player, contract: notInContract}, 404, "not_found"},
		{"wrong method", request{method: "GET", path: joc, auth: player, contract: notInContract}, 405, "method_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(tc.req)
			if r.status != tc.status || r.code(t) != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}

func waitLocked(t *testing.T, e *env, id string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, info := range e.Rooms.Rooms() {
			if info.ID == id && info.Locked {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("room not locked by its game")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRateLimitAnswers429WithRetryAfter(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *mmConfig) { c.RateLimit, c.RateBurst = rate.Every(2*time.Second), 2 }})
	for range 2 {
		e.post("a", "/v1/matchmake/join-or-create", `{"mode":"arena"}`, 200)
	}
	r := e.post("a", "/v1/matchmake/join-or-create", `{"mode":"arena"}`, 429)
	if r.code(t) != "rate_limited" || r.header.Get("Retry-After") != "2" {
		t.Fatalf("429 %s Retry-After %q, want rate_limited and 2", r.body, r.header.Get("Retry-After"))
	}
	e.post("b", "/v1/matchmake/join-or-create", `{"mode":"arena"}`, 200)     // per player
	e.call(request{method: "GET", path: "/v1/rooms", auth: e.Token(t, "a")}) // GETs are not limited
	e.clock.Advance(2 * time.Second)
	e.post("a", "/v1/matchmake/join-or-create", `{"mode":"arena"}`, 200)
}

func TestClosedServiceAnswers503(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.svc.Close()
	r := e.call(request{method: "GET", path: "/v1/rooms", auth: e.Token(t, "a")})
	if r.status != 503 || r.code(t) != "shutting_down" {
		t.Fatalf("after Close: %d %s", r.status, r.body)
	}
}
