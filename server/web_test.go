package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server"
)

// TestWebHandler checks that Config.Web serves / and /assets/, and nothing
// else: the API, /ws and unknown paths keep their own answers.
func TestWebHandler(t *testing.T) {
	typ, err := arena.Type(arena.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rooms, err := room.NewManager(room.Config{Types: []*room.Type{typ}})
	if err != nil {
		t.Fatal(err)
	}
	defer rooms.Close()
	tokens, err := player.NewTokens(player.TokenConfig{Secret: player.RandomSecret()})
	if err != nil {
		t.Fatal(err)
	}
	web := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "web:"+r.URL.Path) })
	srv, err := server.New(server.Config{Tokens: tokens, Rooms: rooms, GuestAuth: true, Web: web})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	for _, tt := range []struct {
		method, path string
		status       int
		body         string // prefix
	}{
		{"GET", "/", 200, "web:/"},
		{"GET", "/assets/app.js", 200, "web:/assets/app.js"},
		{"GET", "/nope", 404, ""},
		{"POST", "/", 405, ""},
		{"GET", "/healthz", 200, `{"status":"ok"}`},
		{"GET", "/ws", 401, `{"code":"unauthorized"`},
	} {
		req, _ := http.NewRequest(tt.method, hs.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.HasPrefix(string(b), tt.body) {
			t.Errorf("%s %s = %d %q, want %d %q…", tt.method, tt.path, resp.StatusCode, b, tt.status, tt.body)
		}
	}
}

// TestSubprotocolToken checks the browser handshake: the token offered as
// the subprotocol "bearer.<token>" next to "tickroom.v1" authenticates, and
// the server echoes "tickroom.v1" (a browser fails a handshake whose
// offered subprotocols get no answer). A client offering none gets none.
func TestSubprotocolToken(t *testing.T) {
	e := newEnv(t, false)
	dial := func(h http.Header) (*gws.Conn, *http.Response, error) {
		return gws.NewClient(&gws.BuiltinEventHandler{}, &gws.ClientOption{Addr: e.WS, RequestHeader: h})
	}
	ws, resp, err := dial(http.Header{"Sec-WebSocket-Protocol": {player.Subprotocol + ", " + player.SubprotocolBearerPrefix + e.token("p1")}})
	if err != nil {
		t.Fatalf("dial with the token as a subprotocol: %v", err)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != player.Subprotocol {
		t.Errorf("answered subprotocol %q, want %q", got, player.Subprotocol)
	}
	ws.NetConn().Close()

	ws, resp, err = dial(http.Header{"Authorization": {"Bearer " + e.token("p2")}})
	if err != nil {
		t.Fatalf("dial without subprotocol: %v", err)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "" {
		t.Errorf("answered subprotocol %q to a client that offered none", got)
	}
	ws.NetConn().Close()

	_, resp, err = dial(http.Header{"Sec-WebSocket-Protocol": {player.Subprotocol + ", bearer.forged"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged subprotocol token: err %v, resp %v; want 401", err, resp)
	}
}
