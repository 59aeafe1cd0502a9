package server_test

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/server"
)

func TestSecurityHandshake(t *testing.T) {
	e := newCustomEnv(t, server.Config{AllowedOrigins: []string{
		"https://play.example.com", "https://*.example.org", "http://localhost:8080",
	}})
	tok := e.token("sec")
	bearer := http.Header{"Authorization": {"Bearer " + tok}}
	with := func(h http.Header, k, v string) http.Header {
		h = h.Clone()
		h.Set(k, v)
		return h
	}
	tests := []struct {
		name    string
		query   string
		hdr     http.Header
		status  int
		code    string // JSON error code of a refusal
		subprot string // Sec-WebSocket-Protocol echoed on 101
	}{
		{"no Origin header (not a browser)", "", bearer, 101, "", ""},
		{"allowed origin", "", with(bearer, "Origin", "https://play.example.com"), 101, "", ""},
		{"allowed origin, default port and upper case", "", with(bearer, "Origin", "HTTPS://PLAY.EXAMPLE.COM:443"), 101, "", ""},
		{"allowed origin with port", "", with(bearer, "Origin", "http://localhost:8080"), 101, "", ""},
		{"subdomain wildcard", "", with(bearer, "Origin", "https://eu.example.org"), 101, "", ""},
		{"null origin", "", with(bearer, "Origin", "null"), 403, "origin_not_allowed", ""},
		{"look-alike host", "", with(bearer, "Origin", "https://play.example.com.evil.com"), 403, "origin_not_allowed", ""},
		{"look-alike prefix", "", with(bearer, "Origin", "https://evilplay.example.com"), 403, "origin_not_allowed", ""},
		{"wrong scheme", "", with(bearer, "Origin", "http://play.example.com"), 403, "origin_not_allowed", ""},
		{"wrong port", "", with(bearer, "Origin", "https://play.example.com:8443"), 403, "origin_not_allowed", ""},
		{"wrong port of an allowed host", "", with(bearer, "Origin", "http://localhost:8081"), 403, "origin_not_allowed", ""},
		{"wildcard does not match the bare domain", "", with(bearer, "Origin", "https://example.org"), 403, "origin_not_allowed", ""},
		{"wildcard look-alike", "", with(bearer, "Origin", "https://evilexample.org"), 403, "origin_not_allowed", ""},
		{"origin with a path", "", with(bearer, "Origin", "https://play.example.com/x"), 403, "origin_not_allowed", ""},
		{"two Origin headers", "", http.Header{"Authorization": bearer["Authorization"], "Origin": {"https://play.example.com", "https://evil.com"}}, 403, "origin_not_allowed", ""},
		{"refused origin even with a valid token", "", with(bearer, "Origin", "https://evil.com"), 403, "origin_not_allowed", ""},
		{"token in the Authorization header", "", bearer, 101, "", ""},
		{"token in the query", "?access_token=" + tok, http.Header{"Origin": {"https://play.example.com"}}, 101, "", ""},
		{"token in Sec-WebSocket-Protocol", "", http.Header{"Origin": {"https://play.example.com"},
			"Sec-WebSocket-Protocol": {player.Subprotocol + ", " + player.SubprotocolBearerPrefix + tok}}, 101, "", player.Subprotocol},
		{"no token", "", http.Header{}, 401, "unauthorized", ""},
		{"bad token in Sec-WebSocket-Protocol", "", http.Header{"Sec-WebSocket-Protocol": {player.Subprotocol + ", " + player.SubprotocolBearerPrefix + "x.y.z"}}, 401, "unauthorized", ""},
		{"token over 4 KiB", "", http.Header{"Authorization": {"Bearer " + strings.Repeat("a", 5<<10)}}, 401, "unauthorized", ""},
		{"headers over 16 KiB", "", http.Header{"Authorization": {"Bearer " + strings.Repeat("a", 20<<10)}}, 431, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, c := e.handshake("", tt.query, tt.hdr, 0)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == 101 {
				if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != tt.subprot {
					t.Fatalf("Sec-WebSocket-Protocol %q, want %q", got, tt.subprot)
				}
				if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
					t.Fatalf("Sec-WebSocket-Extensions %q: permessage-deflate must stay off", ext)
				}
				c.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgWelcome })
				return
			}
			if tt.code != "" {
				var body struct{ Code string }
				if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Code != tt.code {
					t.Fatalf("body code %q (%v), want %q", body.Code, err, tt.code)
				}
			}
		})
	}
	t.Run("permessage-deflate offered is not accepted", func(t *testing.T) {
		resp, c := e.handshake("", "", with(bearer, "Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"), 0)
		if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Extensions") != "" {
			t.Fatalf("status %d, extensions %q: want 101 without extensions", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Extensions"))
		}
		c.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgWelcome })
	})
	if got := e.metric(`tickroom_handshakes_refused_total{reason="origin"}`); got != 11 {
		t.Errorf("origin refusals counted %v, want 11", got)
	}
	if _, err := server.New(server.Config{Tokens: e.Tokens, Rooms: e.Rooms, AllowedOrigins: []string{"example.com"}}); err == nil {
		t.Error("an origin without a scheme was accepted in the config")
	}
}

func TestSecurityConnectionCaps(t *testing.T) {
	e := newCustomEnv(t, server.Config{MaxConnsPerIP: 2, MaxConns: 3})
	hdr := func(id string) http.Header { return http.Header{"Authorization": {"Bearer " + e.token(id)}} }
	open := func(local, id string) *tcpWS {
		t.Helper()
		resp, c := e.handshake(local, "", hdr(id), 0)
		if resp.StatusCode != 101 {
			t.Fatalf("%s from %s: status %d, want 101", id, local, resp.StatusCode)
		}
		c.next(func(m *netcode.ServerMessage) bool { return m.Type == netcode.MsgWelcome })
		return c
	}
	refused := func(local, id, wantMsg string) {
		t.Helper()
		resp, _ := e.handshake(local, "", hdr(id), 0)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s from %s: status %d, want 503", id, local, resp.StatusCode)
		}
		if ra := resp.Header.Get("Retry-After"); ra == "" {
			t.Fatal("503 without Retry-After")
		}
		var body struct{ Code, Message string }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Code != "too_many_connections" || !strings.Contains(body.Message, wantMsg) {
			t.Fatalf("body %+v (%v), want code too_many_connections, message with %q", body, err, wantMsg)
		}
	}
	a1 := open("127.0.0.1", "a1")
	open("127.0.0.1", "a2")
	refused("127.0.0.1", "a3", "from this address")
	open("127.0.0.2", "b1")
	refused("127.0.0.3", "c1", "too many connections")
	// A closed connection frees its slots.
	_ = a1.conn.Close()
	waitFor(t, "the closed connection's slot", func() bool { return e.metric("tickroom_connections") == 2 })
	open("127.0.0.1", "a4")
	if got := e.metric(`tickroom_handshakes_refused_total{reason="conns_address"}`); got != 1 {
		t.Errorf("per-address refusals %v, want 1", got)
	}
	if got := e.metric(`tickroom_handshakes_refused_total{reason="conns_total"}`); got != 1 {
		t.Errorf("total refusals %v, want 1", got)
	}
}

// tinyLimit almost never refills within a test: the budget is its burst.
func tinyLimit(burst int) server.Limit { return server.Limit{Rate: 0.001, Burst: burst} }

func TestSecurityRateLimits(t *testing.T) {
	const burst = 4 // AbuseFactor 2: 8 more are refused with rate_limited, the 13th closes
	e := newCustomEnv(t, server.Config{Limits: server.Limits{
		Input: tinyLimit(burst), Ack: tinyLimit(burst), Msg: tinyLimit(burst), Ping: tinyLimit(burst), Session: tinyLimit(burst),
	}})
	enc := func(f func(b *netcode.Buffer)) []byte { b := netcode.NewBuffer(32); f(b); return b.B }
	tests := []struct {
		kind  string
		msg   []byte
		reply string // the answer to a message within budget; "" for none
	}{
		{"input", enc(func(b *netcode.Buffer) { netcode.AppendInput(b, 1, []byte{0x90}, 0) }), netcode.CodeNotInRoom},
		{"ack", enc(func(b *netcode.Buffer) { netcode.AppendAck(b, 1) }), ""},
		{"msg", enc(func(b *netcode.Buffer) { netcode.AppendMsg(b, "nobody", []byte{1}) }), netcode.CodePlayerOffline},
		{"ping", enc(func(b *netcode.Buffer) { netcode.AppendPing(b, []byte{1}) }), "pong"},
		{"session", enc(func(b *netcode.Buffer) { netcode.AppendLeave(b) }), netcode.CodeNotInRoom},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			c := e.dial(e.token("rl-" + tt.kind))
			for i := 0; i < 3*burst+1; i++ {
				c.send(tt.msg)
			}
			got := c.untilClosed(10 * time.Second)
			var want []string
			for range burst {
				if tt.reply != "" {
					want = append(want, tt.reply)
				}
			}
			for range 2 * burst {
				want = append(want, server.CodeRateLimited)
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("answers\n got %v\nwant %v", got, want)
			}
			if code := c.closeCode(); code != server.CloseRateLimited {
				t.Fatalf("close code %d, want %d", code, server.CloseRateLimited)
			}
			if n := e.metric(`tickroom_rate_limited_total{kind="` + tt.kind + `"}`); n != 2*burst+1 {
				t.Errorf("rate-limit hits counted %v, want %d", n, 2*burst+1)
			}
		})
	}
}

func TestSecurityGuestAuthLimit(t *testing.T) {
	e := newCustomEnv(t, server.Config{GuestAuth: true, GuestPerIP: tinyLimit(3), GuestTotal: tinyLimit(5)})
	from := func(local string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	c1, c2 := from("127.0.0.1"), from("127.0.0.2")
	defer c1.CloseIdleConnections()
	defer c2.CloseIdleConnections()
	postFrom := func(c *http.Client) (*http.Response, string) {
		t.Helper()
		r, err := c.Post(e.URL+"/v1/auth/guest", "application/json", strings.NewReader(`{"name":"g"}`))
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Code, Message string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		r.Body.Close()
		return r, body.Message
	}
	post := func() *http.Response {
		t.Helper()
		r, err := c1.Post(e.URL+"/v1/auth/guest", "application/json", strings.NewReader(`{"name":"g"}`))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r
	}
	for i := range 3 {
		if r := post(); r.StatusCode != 200 {
			t.Fatalf("request %d: status %d, want 200", i+1, r.StatusCode)
		}
	}
	r := post()
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("4th request: status %d, Retry-After %q: want 429 with Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
	}
	// Another address has its own budget, up to the total (5).
	for i := range 2 {
		if r, _ := postFrom(c2); r.StatusCode != 200 {
			t.Fatalf("request %d from another address: status %d, want 200", i+1, r.StatusCode)
		}
	}
	r, msg := postFrom(c2)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || strings.Contains(msg, "address") {
		t.Fatalf("request beyond the total: status %d, Retry-After %q, message %q: want 429 for the total", r.StatusCode, r.Header.Get("Retry-After"), msg)
	}
	if got := e.metric(`tickroom_rate_limited_total{kind="guest"}`); got != 2 {
		t.Errorf("guest rate-limit hits %v, want 2", got)
	}
}

// untilClosed collects the pongs ("pong") and error codes received until
// the server closes the connection.
func (c *rawClient) untilClosed(limit time.Duration) []string {
	c.t.Helper()
	var got []string
	add := func(b []byte) {
		var m netcode.ServerMessage
		if err := netcode.DecodeServer(b, &m); err != nil {
			c.t.Fatal(err)
		}
		switch m.Type {
		case netcode.MsgPong:
			got = append(got, "pong")
		case netcode.MsgError:
			got = append(got, m.Code)
		}
	}
	deadline := time.After(limit)
	for {
		select {
		case b := <-c.msgs:
			add(b)
		case err := <-c.closed:
			c.closed <- err
			// Everything read before the close is in msgs already.
			for {
				select {
				case b := <-c.msgs:
					add(b)
				default:
					return got
				}
			}
		case <-deadline:
			c.t.Fatalf("not closed; got %v", got)
		}
	}
}
