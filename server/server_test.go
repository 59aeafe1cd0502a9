package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server"
	"github.com/tickroom/tickroom/server/servertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type env struct {
	*servertest.Server
	t      *testing.T
	secret []byte
	tokens *player.Tokens
	srv    *server.Server
}

func newEnv(t *testing.T, guest bool) *env {
	t.Helper()
	typ, err := arena.Type(arena.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := servertest.New(t, servertest.Options{Types: []*room.Type{typ}, NoGuestAuth: !guest})
	return &env{Server: s, t: t, secret: s.Secret, tokens: s.Tokens, srv: s.Server}
}

func (e *env) token(id string) string { return e.Token(e.t, id) }

// ---- a raw WebSocket client ----

type rawClient struct {
	t      *testing.T
	ws     *gws.Conn
	msgs   chan []byte
	closed chan error
}

type rawHandler struct {
	gws.BuiltinEventHandler
	c *rawClient
}

func (h rawHandler) OnMessage(ws *gws.Conn, m *gws.Message) {
	defer m.Close()
	select {
	case h.c.msgs <- append([]byte(nil), m.Bytes()...):
	default: // a test that stops reading frames does not block the socket
	}
}

func (h rawHandler) OnClose(ws *gws.Conn, err error) { h.c.closed <- err }

func (e *env) dial(token string) *rawClient {
	e.t.Helper()
	c := &rawClient{t: e.t, msgs: make(chan []byte, 4096), closed: make(chan error, 1)}
	ws, resp, err := gws.NewClient(rawHandler{c: c}, &gws.ClientOption{
		Addr:          "ws" + strings.TrimPrefix(e.URL, "http") + "/ws",
		RequestHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		e.t.Fatalf("dial: %v (resp %v)", err, resp)
	}
	c.ws = ws
	go ws.ReadLoop()
	e.t.Cleanup(func() {
		_ = ws.WriteClose(1000, nil)
		select {
		case <-c.closed:
		case <-time.After(5 * time.Second):
			e.t.Error("client read loop did not end")
		}
	})
	m := c.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgWelcome })
	if m.Protocol != netcode.ProtocolVersion {
		e.t.Fatalf("welcome protocol %d", m.Protocol)
	}
	return c
}

func (c *rawClient) send(b []byte) {
	c.t.Helper()
	if err := c.ws.WriteMessage(gws.OpcodeBinary, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next returns the first message matching ok, skipping others (5 s limit).
func (c *rawClient) next(ok func(*netcode.ServerMessage) bool) netcode.ServerMessage {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case b := <-c.msgs:
			var m netcode.ServerMessage
			if err := netcode.DecodeServer(b, &m); err != nil {
				c.t.Fatalf("undecodable server message %x: %v", b, err)
			}
			if ok(&m) {
				return m
			}
		case err := <-c.closed:
			c.closed <- err
			c.t.Fatalf("connection closed while waiting: %v", err)
		case <-deadline:
			c.t.Fatal("timed out waiting for a message")
		}
	}
}

func (c *rawClient) nextError() netcode.ServerMessage {
	c.t.Helper()
	return c.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgError })
}

// closeCode waits for the server to close the connection and returns the code.
func (c *rawClient) closeCode() uint16 {
	c.t.Helper()
	select {
	case err := <-c.closed:
		c.closed <- err
		var ce *gws.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		c.t.Fatalf("closed without a close frame: %v", err)
	case <-time.After(5 * time.Second):
		c.t.Fatal("connection not closed")
	}
	return 0
}

func (c *rawClient) join(roomType string) netcode.ServerMessage {
	c.t.Helper()
	b := netcode.NewBuffer(32)
	netcode.AppendJoin(b, roomType, "")
	c.send(b.B)
	j := c.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgJoined || m.Type == netcode.MsgError })
	if j.Type != netcode.MsgJoined {
		c.t.Fatalf("join: error %s: %s", j.Code, j.Message)
	}
	f := c.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgFrame })
	if f.Age != 0 {
		c.t.Fatalf("first frame after joined has age %d, want a full snapshot", f.Age)
	}
	return j
}

// alive checks the connection still answers a ping.
func (c *rawClient) alive() {
	c.t.Helper()
	b := netcode.NewBuffer(8)
	netcode.AppendPing(b, []byte{0x2a})
	c.send(b.B)
	p := c.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgPong })
	if !bytes.Equal(p.Payload, []byte{0x2a}) {
		c.t.Fatalf("pong payload %x, want 2a", p.Payload)
	}
}

// frameAfter waits for a frame of a tick later than tick.
func (c *rawClient) frameAfter(tick uint64) netcode.ServerMessage {
	c.t.Helper()
	return c.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgFrame && m.Tick > tick })
}

// ---- tests ----

func TestHandshakeRejectsBadTokens(t *testing.T) {
	e := newEnv(t, false)
	other, _ := player.NewTokens(player.TokenConfig{Secret: player.RandomSecret()})
	forged, _ := other.Mint("p1", "x")
	past, _ := player.NewTokens(player.TokenConfig{Secret: e.secret, Now: func() time.Time { return time.Now().Add(-48 * time.Hour) }})
	expired, _ := past.Mint("p1", "x")
	b64 := base64.RawURLEncoding.EncodeToString
	none := b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64([]byte(fmt.Sprintf(`{"sub":"p1","exp":%d}`, time.Now().Add(time.Hour).Unix()))) + "."
	hs384, _ := jwt.NewWithClaims(jwt.SigningMethodHS384, jwt.MapClaims{"sub": "p1", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(e.secret)

	tests := []struct {
		name   string
		header string
		query  string
	}{
		{"no token", "", ""},
		{"garbage", "Bearer not-a-jwt", ""},
		{"bad signature", "Bearer " + forged, ""},
		{"alg none", "Bearer " + none, ""},
		{"HS384", "Bearer " + hs384, ""},
		{"expired", "Bearer " + expired, ""},
		{"expired in query", "", expired},
		{"over the token limit", "Bearer " + strings.Repeat(".", 8<<10), ""},
		{"over the header limit", "Bearer " + strings.Repeat(".", 100<<10), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := e.URL + "/ws"
			if tt.query != "" {
				u += "?access_token=" + tt.query
			}
			req, _ := http.NewRequest("GET", u, nil)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if len(tt.header) > 16<<10 {
				// Go's HTTP server refuses headers over MaxHeaderBytes
				// (16 KiB) before any handler runs.
				if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
					t.Fatalf("status %d, want 431", resp.StatusCode)
				}
				return
			}
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
			var body struct{ Code, Message string }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Code != "unauthorized" {
				t.Fatalf("body %+v (%v), want code unauthorized", body, err)
			}
			if resp.Header.Get("Upgrade") != "" {
				t.Fatal("response carries an Upgrade header")
			}
		})
	}
	// The query parameter works for a valid token (browsers).
	c := &rawClient{t: t, msgs: make(chan []byte, 16), closed: make(chan error, 1)}
	ws, _, err := gws.NewClient(rawHandler{c: c}, &gws.ClientOption{Addr: "ws" + strings.TrimPrefix(e.URL, "http") + "/ws?access_token=" + e.token("q")})
	if err != nil {
		t.Fatalf("valid token in query: %v", err)
	}
	go ws.ReadLoop()
	c.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgWelcome && m.PlayerID == "q" })
	_ = ws.WriteClose(1000, nil)
	<-c.closed
}

func TestGuestAuth(t *testing.T) {
	e := newEnv(t, true)
	post := func(body string) (*http.Response, map[string]string) {
		resp, err := http.Post(e.URL+"/v1/auth/guest", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]string{}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp, out
	}
	resp, out := post(`{"name":"Ada"}`)
	if resp.StatusCode != 200 || out["token"] == "" || !strings.HasPrefix(out["player_id"], "g_") {
		t.Fatalf("guest: %d %v", resp.StatusCode, out)
	}
	c := e.dial(out["token"])
	c.join("arena-players")

	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"malformed", `{"name":`, 400, "bad_request"},
		{"unknown field", `{"name":"a","admin":true}`, 400, "bad_request"},
		{"wrong type", `{"name":5}`, 400, "bad_request"},
		{"trailing", `{"name":"a"} {}`, 400, "bad_request"},
		{"name too long", `{"name":"` + strings.Repeat("n", 40) + `"}`, 400, "bad_request"},
		{"oversized", `{"name":"` + strings.Repeat("n", 70<<10) + `"}`, 413, "too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, out := post(tt.body)
			if resp.StatusCode != tt.status || out["code"] != tt.code {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, out, tt.status, tt.code)
			}
		})
	}

	off := newEnv(t, false)
	r, err := http.Post(off.URL+"/v1/auth/guest", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("guest auth disabled: status %d", r.StatusCode)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	m := server.NewMetrics()
	typ, err := arena.Type(arena.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rooms, err := room.NewManager(room.Config{Types: []*room.Type{typ}, OnTick: m.ObserveTick})
	if err != nil {
		t.Fatal(err)
	}
	defer rooms.Close()
	tokens, _ := player.NewTokens(player.TokenConfig{Secret: player.RandomSecret()})
	srv, err := server.New(server.Config{Tokens: tokens, Rooms: rooms, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	m.ObserveTick(3*time.Millisecond, 2)
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{"tickroom_tick_lateness_seconds_count 1", "tickroom_tick_overruns_total 2", "tickroom_connections 0", "tickroom_rooms 0",
		`tickroom_drops_total{reason="frame_skipped"} 0`, `tickroom_drops_total{reason="control_dropped"} 0`,
		`tickroom_drops_total{reason="push_dropped"} 0`, `tickroom_drops_total{reason="slow_close"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestHealthz(t *testing.T) {
	e := newEnv(t, false)
	resp, err := http.Get(e.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
}

func TestBadInputGetsAnAnswerAndHurtsNobody(t *testing.T) {
	e := newEnv(t, false)
	bystander := e.dial(e.token("bystander"))
	bystander.join("arena-players")

	// Each row gets its own connection, so the abuse limiter (a burst of 5
	// bad messages) is never what answers.
	n := 0
	fresh := func() *rawClient { n++; return e.dial(e.token(fmt.Sprint("p", n))) }
	seated := func() *rawClient { c := fresh(); c.join("arena-players"); return c }
	enc := func(f func(b *netcode.Buffer)) []byte { b := netcode.NewBuffer(64); f(b); return b.B }
	tests := []struct {
		name     string
		client   func() *rawClient
		msg      []byte
		wantCode string
		wantRef  netcode.MsgType
	}{
		{"not msgpack", seated, []byte{0xc1}, netcode.CodeBadMessage, 0},
		{"array32 bomb", seated, []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, netcode.CodeBadMessage, 0},
		{"map32 bomb", seated, []byte{0xdf, 0xff, 0xff, 0xff, 0xff}, netcode.CodeBadMessage, 0},
		{"bomb inside a payload", seated, []byte{0x93, 0x02, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff}, netcode.CodeBadMessage, netcode.MsgInput},
		{"deep nesting", seated, bytes.Repeat([]byte{0x91}, 64), netcode.CodeBadMessage, 0},
		{"not an array", seated, []byte{0x02}, netcode.CodeBadMessage, 0},
		{"unknown type", seated, []byte{0x91, 99}, netcode.CodeUnknownType, 99},
		{"wrong field type", seated, []byte{0x93, 0x02, 0xa1, 'x', 0x90}, netcode.CodeBadMessage, netcode.MsgInput},
		{"too many fields", seated, []byte{0x95, 0x03, 0x01, 0x02, 0x03, 0x04}, netcode.CodeBadMessage, netcode.MsgAck},
		{"trailing bytes", seated, []byte{0x92, 0x03, 0x01, 0x00}, netcode.CodeBadMessage, netcode.MsgAck},
		{"input payload of the wrong shape", seated, enc(func(b *netcode.Buffer) { netcode.AppendInput(b, 1, []byte{0xa1, 'x'}, 0) }), netcode.CodeBadMessage, netcode.MsgInput},
		{"input without a seat", fresh, enc(func(b *netcode.Buffer) { netcode.AppendInput(b, 1, []byte{0x92, 0x00, 0x00}, 0) }), netcode.CodeNotInRoom, netcode.MsgInput},
		{"leave without a seat", fresh, enc(netcode.AppendLeave), netcode.CodeNotInRoom, netcode.MsgLeave},
		{"second join", seated, enc(func(b *netcode.Buffer) { netcode.AppendJoin(b, "arena-players", "") }), netcode.CodeAlreadyInRoom, netcode.MsgJoin},
		{"unknown room type", fresh, enc(func(b *netcode.Buffer) { netcode.AppendJoin(b, "chess", "") }), netcode.CodeUnknownRoomType, netcode.MsgJoin},
		{"unknown room id", fresh, enc(func(b *netcode.Buffer) { netcode.AppendJoin(b, "", "r-nope") }), netcode.CodeRoomNotFound, netcode.MsgJoin},
		{"msg to an offline player", fresh, enc(func(b *netcode.Buffer) { netcode.AppendMsg(b, "nobody", []byte{0xc0}) }), netcode.CodePlayerOffline, netcode.MsgMsg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client()
			last := bystander.frameAfter(0).Tick
			c.send(tt.msg)
			m := c.nextError()
			if m.Code != tt.wantCode || m.Ref != tt.wantRef {
				t.Fatalf("error %s (ref %d) %q, want %s (ref %d)", m.Code, m.Ref, m.Message, tt.wantCode, tt.wantRef)
			}
			c.alive()                  // the sender's connection still works
			bystander.frameAfter(last) // and the bystander's room keeps ticking
		})
	}
	bystander.alive()
}

func TestAbuseAndOversizeClose(t *testing.T) {
	e := newEnv(t, false)
	b := e.dial(e.token("b"))
	b.join("arena-players")

	t.Run("repeated bad messages close with 4502", func(t *testing.T) {
		a := e.dial(e.token("a"))
		for range 10 {
			if err := a.ws.WriteMessage(gws.OpcodeBinary, []byte{0xc1}); err != nil {
				break
			}
		}
		if code := a.closeCode(); code != server.CloseAbuse {
			t.Fatalf("close code %d, want %d", code, server.CloseAbuse)
		}
		// Every bad message was answered before the close: the 5 the
		// budget allows and the one that ran it out.
		errs := 0
		for len(a.msgs) > 0 {
			var m netcode.ServerMessage
			if err := netcode.DecodeServer(<-a.msgs, &m); err == nil && m.Type == netcode.MsgError && m.Code == netcode.CodeBadMessage {
				errs++
			}
		}
		if errs < 6 {
			t.Fatalf("%d bad_message errors before the 4502 close, want at least 6", errs)
		}
	})
	t.Run("oversized frame closes with 1009", func(t *testing.T) {
		a := e.dial(e.token("a2"))
		_ = a.ws.WriteMessage(gws.OpcodeBinary, make([]byte, netcode.MaxClientMessage+1))
		if code := a.closeCode(); code != 1009 {
			t.Fatalf("close code %d, want 1009", code)
		}
	})
	t.Run("text frame closes with 1003", func(t *testing.T) {
		a := e.dial(e.token("a3"))
		_ = a.ws.WriteString("hello")
		if code := a.closeCode(); code != server.CloseUnsupported {
			t.Fatalf("close code %d, want %d", code, server.CloseUnsupported)
		}
	})
	// The bystander is unaffected.
	b.alive()
	b.frameAfter(b.frameAfter(0).Tick)
	if players, conns := e.srv.Players().Stats(); players < 1 || conns < 1 {
		t.Fatalf("registry lost the bystander: %d players, %d conns", players, conns)
	}
}

func TestDirectMessageReachesEveryConnection(t *testing.T) {
	e := newEnv(t, false)
	tok := e.token("bob")
	bob1, bob2 := e.dial(tok), e.dial(tok)
	alice := e.dial(e.token("alice"))
	b := netcode.NewBuffer(32)
	netcode.AppendMsg(b, "bob", []byte{0xa2, 'h', 'i'})
	alice.send(b.B)
	for i, c := range []*rawClient{bob1, bob2} {
		m := c.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgDirect })
		if m.From != "alice" || !bytes.Equal(m.Payload, []byte{0xa2, 'h', 'i'}) {
			t.Fatalf("bob%d got %+v", i+1, m)
		}
	}
	// Closing one of bob's sockets leaves the other reachable.
	_ = bob1.ws.WriteClose(1000, nil)
	<-bob1.closed
	bob1.closed <- nil
	// Wait (bounded) for the server to process the close.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if p, ok := e.srv.Players().Lookup("bob"); ok && len(p.Conns(nil)) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("closed connection not removed from the registry")
		}
	}
	alice.send(b.B)
	bob2.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgDirect })
}
