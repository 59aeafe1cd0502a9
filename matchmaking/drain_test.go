package matchmaking_test

import (
	"net/http"
	"testing"
)

// After Drain, every endpoint that reserves a seat or queues a ticket
// answers 503 shutting_down; listings and ticket status still answer.
func TestDrainStopsReserving(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := e.post("p1", "/v1/matchmaking/tickets", `{"mode":"arena-players"}`, http.StatusCreated)
	var tk ticket
	r.decode(t, &tk)
	e.svc.Drain()
	for _, c := range []struct{ path, body string }{
		{"/v1/matchmake/join-or-create", `{"mode":"arena"}`},
		{"/v1/matchmake/create", `{"mode":"arena"}`},
		{"/v1/matchmake/join", `{"room_id":"nope"}`},
		{"/v1/matchmaking/tickets", `{"mode":"arena-players"}`},
	} {
		r := e.post("p2", c.path, c.body, http.StatusServiceUnavailable)
		if got := r.code(t); got != "shutting_down" {
			t.Errorf("POST %s during a drain: code %q, want shutting_down", c.path, got)
		}
	}
	rk := e.call(request{method: "POST", path: "/v1/reservations", header: map[string]string{"Authorization": "Bearer " + apiKey},
		body: `{"mode":"arena","players":["a"]}`})
	if rk.status != http.StatusServiceUnavailable {
		t.Errorf("POST /v1/reservations during a drain: %d %s, want 503", rk.status, rk.body)
	}
	if r := e.call(request{method: "GET", path: "/v1/rooms", auth: e.Token(t, "p2")}); r.status != http.StatusOK {
		t.Errorf("GET /v1/rooms during a drain: %d %s, want 200", r.status, r.body)
	}
	if r := e.call(request{method: "GET", path: "/v1/matchmaking/tickets/" + tk.TicketID, auth: e.Token(t, "p1")}); r.status != http.StatusOK {
		t.Errorf("GET ticket during a drain: %d %s, want 200", r.status, r.body)
	}
}
