package matchmaking_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// remoteRooms is a directory whose rooms live on node b, or, with down
// set, a directory whose shared store is out.
type remoteRooms struct{ down atomic.Bool }

const remoteWS = "wss://node-b.example/ws"

func (f *remoteRooms) Reserve(ctx context.Context, p player.ID, sel room.Selector) (room.Reservation, error) {
	res, err := f.ReserveGroup(ctx, []player.ID{p}, sel)
	if err != nil {
		return room.Reservation{}, err
	}
	return res[0], nil
}

func (f *remoteRooms) ReserveGroup(_ context.Context, players []player.ID, sel room.Selector) ([]room.Reservation, error) {
	if f.down.Load() {
		return nil, fmt.Errorf("reserving: %w", room.ErrUnavailable)
	}
	out := make([]room.Reservation, len(players))
	for i, p := range players {
		out[i] = room.Reservation{Player: p, RoomID: "rb1", RoomType: "arena", SeatToken: "s" + string(p),
			ExpiresAt: time.Now().Add(15 * time.Second), Node: "b", WSURL: remoteWS}
	}
	return out, nil
}

func (f *remoteRooms) List(context.Context, string) ([]room.RoomInfo, error) {
	if f.down.Load() {
		return nil, fmt.Errorf("listing: %w", room.ErrUnavailable)
	}
	return []room.RoomInfo{
		{ID: "ra1", Type: "arena", Players: 1, Capacity: 4},
		{ID: "rb1", Type: "arena", Players: 2, Capacity: 4, Node: "b", WSURL: remoteWS},
	}, nil
}

func (f *remoteRooms) HasType(typ string) bool { return typ == "arena" }

type idTokens struct{}

func (idTokens) Verify(tok string) (player.Claims, error) {
	return player.Claims{Player: player.ID(tok)}, nil
}

// A reservation in a room of another node carries that node's ws_url,
// listings show each room's node, and an unreachable directory is 503
// unavailable with Retry-After 1 — every answer checked against openapi.yaml.
func TestRemoteRoomsAndUnavailableStore(t *testing.T) {
	rooms := &remoteRooms{}
	svc, err := matchmaking.New(matchmaking.Config{Rooms: rooms, Tokens: idTokens{}, APIKey: apiKey,
		Modes: []matchmaking.Mode{{Name: "arena", MaxPlayers: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	defer svc.Close()
	defer srv.Close()
	hc := &http.Client{Transport: validating{t: t, next: http.DefaultTransport}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	call := func(method, path, auth, body string) (int, http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+auth)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(withContract(req, checkAll))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}

	for _, c := range []struct{ path, auth, body string }{
		{"/v1/matchmake/join-or-create", "p", `{"mode": "arena"}`},
		{"/v1/reservations", apiKey, `{"mode": "arena", "players": ["p"]}`},
	} {
		status, _, b := call("POST", c.path, c.auth, c.body)
		if status != 200 || !strings.Contains(string(b), `"ws_url":"`+remoteWS+`"`) {
			t.Fatalf("POST %s: %d %s, want the owning node's ws_url %s", c.path, status, b, remoteWS)
		}
	}
	status, _, b := call("GET", "/v1/rooms", "p", "")
	var list struct {
		Rooms []map[string]any `json:"rooms"`
	}
	if err := json.Unmarshal(b, &list); err != nil || status != 200 || len(list.Rooms) != 2 {
		t.Fatalf("GET /v1/rooms: %d %s", status, b)
	}
	if _, has := list.Rooms[0]["node"]; has || list.Rooms[1]["node"] != "b" || list.Rooms[1]["ws_url"] != remoteWS {
		t.Fatalf("rooms %v: want node and ws_url on b's room only", list.Rooms)
	}

	rooms.down.Store(true)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/matchmake/join-or-create", `{"mode": "arena"}`},
		{"POST", "/v1/matchmake/create", `{"mode": "arena"}`},
		{"POST", "/v1/matchmake/join", `{"code": "ABCDEF"}`},
		{"GET", "/v1/rooms", ""},
	} {
		status, h, b := call(c.method, c.path, "q", c.body)
		var e struct{ Code string }
		_ = json.Unmarshal(b, &e)
		if status != 503 || e.Code != "unavailable" || h.Get("Retry-After") != "1" {
			t.Fatalf("%s %s with the directory out: %d %s (Retry-After %q), want 503 unavailable, Retry-After 1",
				c.method, c.path, status, b, h.Get("Retry-After"))
		}
	}
}
