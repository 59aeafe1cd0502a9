package server_test

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server"
	"github.com/tickroom/tickroom/server/servertest"
)

// newCustomEnv runs a server built directly from cfg (Tokens, Rooms,
// Metrics and Players are filled in), for the Config fields that
// servertest's node does not expose. Rooms run arena (named "arena", no pickups).
func newCustomEnv(t *testing.T, cfg server.Config) *env {
	t.Helper()
	typ, err := arena.Type(arena.Options{Name: "arena"})
	if err != nil {
		t.Fatal(err)
	}
	m := server.NewMetrics()
	rooms, err := room.NewManager(room.Config{Types: []*room.Type{typ}, OnTick: m.ObserveTick})
	if err != nil {
		t.Fatal(err)
	}
	secret := player.RandomSecret()
	tokens, err := player.NewTokens(player.TokenConfig{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	players := player.NewRegistry()
	cfg.Tokens, cfg.Rooms, cfg.Metrics, cfg.Players = tokens, rooms, m, players
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.Config.MaxHeaderBytes = 16 << 10
	hs.Start()
	t.Cleanup(func() {
		srv.Close()
		rooms.Close()
		hs.Close()
	})
	s := &servertest.Server{URL: hs.URL, WS: "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws", Secret: secret,
		Tokens: tokens, Rooms: rooms, Players: players, Server: srv}
	return &env{Server: s, t: t, secret: secret, tokens: tokens, srv: srv}
}

// metric scrapes /metrics and returns the value of the sample whose name
// and labels are given as it is printed, e.g. `tickroom_drops_total{reason="slow_close"}`;
// 0 if absent.
func (e *env) metric(sample string) float64 {
	e.t.Helper()
	resp, err := http.Get(e.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				e.t.Fatalf("metric %s: %v", sample, err)
			}
			return f
		}
	}
	return 0
}

// ---- a WebSocket client on a bare TCP socket ----

// tcpWS is a WebSocket client written by hand on a TCP socket: it can
// come from any loopback address, shrink its receive buffer, and stop
// reading entirely.
type tcpWS struct {
	t    *testing.T
	conn *net.TCPConn
	br   *bufio.Reader
}

// handshake opens a TCP connection from local (a loopback IP, "" for any)
// and sends a WebSocket upgrade request for /ws with query q and the extra
// headers. It returns the response and, for a 101, the client. rcvbuf > 0
// shrinks the socket's receive buffer first.
func (e *env) handshake(local, q string, hdr http.Header, rcvbuf int) (*http.Response, *tcpWS) {
	e.t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	addr := strings.TrimPrefix(e.URL, "http://")
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		e.t.Fatal(err)
	}
	c := &tcpWS{t: e.t, conn: nc.(*net.TCPConn)}
	e.t.Cleanup(func() { _ = nc.Close() })
	if rcvbuf > 0 {
		if err := c.conn.SetReadBuffer(rcvbuf); err != nil {
			e.t.Fatal(err)
		}
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	var sb strings.Builder
	fmt.Fprintf(&sb, "GET /ws%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %x\r\n", q, addr, key)
	for k, vs := range hdr {
		for _, v := range vs {
			fmt.Fprintf(&sb, "%s: %s\r\n", k, v)
		}
	}
	sb.WriteString("\r\n")
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(nc, sb.String()); err != nil {
		e.t.Fatal(err)
	}
	c.br = bufio.NewReaderSize(nc, 512)
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Time{})
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		_ = nc.Close()
		return resp, nil
	}
	return resp, c
}

// send writes one masked binary frame.
func (c *tcpWS) send(payload []byte) {
	c.t.Helper()
	f := []byte{0x82}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n < 1<<16:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	mask := []byte{1, 2, 3, 4}
	f = append(f, mask...)
	for i, b := range payload {
		f = append(f, b^mask[i%4])
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write(f); err != nil {
		c.t.Fatalf("raw write: %v", err)
	}
}

// closeFrame is the error read returns for a close frame.
type closeFrame struct{ code uint16 }

func (c closeFrame) Error() string { return fmt.Sprintf("close frame %d", c.code) }

// read returns the next data frame's payload (skipping pings), or a
// closeFrame error, or the socket's error.
func (c *tcpWS) read(timeout time.Duration) ([]byte, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			return nil, err
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			if _, err := io.ReadFull(c.br, l[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			if _, err := io.ReadFull(c.br, l[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(l[:])
		}
		if n > 1<<20 {
			return nil, errors.New("frame too large")
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(c.br, p); err != nil {
			return nil, err
		}
		switch h[0] & 0x0f {
		case 0x8:
			code := uint16(1005)
			if len(p) >= 2 {
				code = binary.BigEndian.Uint16(p)
			}
			return nil, closeFrame{code}
		case 0x9, 0xa:
			continue
		}
		return p, nil
	}
}

// next returns the next server message matching ok.
func (c *tcpWS) next(ok func(*netcode.ServerMessage) bool) netcode.ServerMessage {
	c.t.Helper()
	for {
		p, err := c.read(5 * time.Second)
		if err != nil {
			c.t.Fatalf("raw read: %v", err)
		}
		var m netcode.ServerMessage
		if err := netcode.DecodeServer(p, &m); err != nil {
			c.t.Fatalf("undecodable server message: %v", err)
		}
		if ok(&m) {
			return m
		}
	}
}
