package node_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tickroom/tickroom/cluster/clustertest"
	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/netcode/client"
	"github.com/tickroom/tickroom/node"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server"
	"golang.org/x/time/rate"
)

// arenaTypes are the arena room types `tickroom serve` runs.
func arenaTypes(t *testing.T) []*room.Type {
	t.Helper()
	var types []*room.Type
	for _, o := range []arena.Options{{Pickups: true}, {}} {
		typ, err := arena.Type(o)
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, typ)
	}
	return types
}

// startNode starts a node with the arena types, one matchmaking mode per
// type and guest auth; f adjusts the config. Closed at the test's end.
func startNode(t *testing.T, f func(*node.Config)) *node.Node {
	t.Helper()
	types := arenaTypes(t)
	var modes []matchmaking.Mode
	for _, typ := range types {
		c := typ.Config()
		modes = append(modes, matchmaking.Mode{Name: c.Name, MaxPlayers: c.Capacity, MinPlayers: 1, AllowPartial: true, MaxWait: time.Second})
	}
	cfg := node.Config{Types: types, Modes: modes, GuestAuth: true, MatchInterval: 100 * time.Millisecond,
		MatchRateLimit: rate.Inf, StoreTimeout: 10 * time.Second, Logger: testLogger(t)}
	if f != nil {
		f(&cfg)
	}
	n, err := node.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("node close: %v", err)
		}
	})
	return n
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key
// to PEM files and returns their paths and a pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tickroom test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TLS end to end: guest auth and matchmaking over https, the reservation's
// ws_url is wss, and the Go SDK joins over wss and receives frames. A
// client that does not trust the CA is refused.
func TestTLSEndToEnd(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	n := startNode(t, func(c *node.Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	if !strings.HasPrefix(n.URL, "https://") || !strings.HasPrefix(n.WS, "wss://") {
		t.Fatalf("node URL %s, WS %s; want https and wss", n.URL, n.WS)
	}
	tc := &tls.Config{RootCAs: pool}
	ctx := t.Context()
	if _, _, err := client.GuestToken(ctx, n.URL, "nobody"); err == nil {
		t.Fatal("guest token over https without trusting the CA: no error")
	}
	tok, _, err := client.GuestToken(ctx, n.URL, "ada", client.WithTLSConfig(tc))
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.JoinOrCreate(ctx, n.URL, tok, "arena", nil, client.WithTLSConfig(tc))
	if err != nil {
		t.Fatal(err)
	}
	if res.WSURL != n.WS {
		t.Fatalf("reservation ws_url %s, want %s", res.WSURL, n.WS)
	}
	frames := make(chan struct{}, 100)
	c := dial(t, res.WSURL, tok, client.Config{TLSConfig: tc, OnFrame: func(client.Frame) {
		select {
		case frames <- struct{}{}:
		default:
		}
	}})
	if _, err := c.JoinSeat(ctx, res.SeatToken); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		select {
		case <-frames:
		case <-time.After(10 * time.Second):
			t.Fatal("no frames over wss")
		}
	}
	// Without the CA the handshake fails.
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if c2, err := client.Dial(dctx, client.Config{URL: n.WS, Token: tok}); err == nil {
		_ = c2.Close()
		t.Fatal("wss dial without trusting the CA: no error")
	}
	// Plain HTTP to the TLS port is not served.
	hc := &http.Client{Timeout: 5 * time.Second}
	if resp, err := hc.Get("http://" + n.Addr().String() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain http on the TLS port answered 200")
		}
	}
}

// smallBuffers listens with tiny send buffers on accepted connections, so
// a peer that stops reading fills them quickly.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4 << 10)
	}
	return c, err
}

// blackhole completes a WebSocket handshake on a raw TCP connection with a
// tiny receive buffer, joins a room, asks for about 40 KB of pongs and
// never reads again: the server's writes to it block.
func blackhole(t *testing.T, addr net.Addr, token string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) }); err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n",
		addr, base64.StdEncoding.EncodeToString(key), token)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReaderSize(c, 16)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("blackhole handshake: %v %v", resp, err)
	}
	send := func(msg []byte) {
		var mask [4]byte
		_, _ = rand.Read(mask[:])
		f := []byte{0x82}
		switch {
		case len(msg) < 126:
			f = append(f, 0x80|byte(len(msg)))
		default:
			f = append(f, 0x80|126)
			f = binary.BigEndian.AppendUint16(f, uint16(len(msg)))
		}
		f = append(f, mask[:]...)
		for i, b := range msg {
			f = append(f, b^mask[i%4])
		}
		if _, err := c.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	b := netcode.NewBuffer(64)
	netcode.AppendJoin(b, "arena", "")
	send(b.B)
	pay := netcode.NewBuffer(1100)
	_ = pay.Enc().EncodeString(strings.Repeat("x", 1000))
	for range 40 {
		b := netcode.NewBuffer(1100)
		netcode.AppendPing(b, pay.B)
		send(b.B)
	}
	return c
}

// A drain: /readyz 503 and new reservations and handshakes refused before
// the first connection is closed; every client gets 1012; the closes are
// spread over the drain period (not all in its first 10%); a blackholed
// peer does not hold the drain past drain + write timeout; Close returns
// in time.
func TestDrainSpreadsClosesOverThePeriod(t *testing.T) {
	const (
		clients      = 12
		drain        = 2 * time.Second
		writeTimeout = time.Second
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, func(c *node.Config) {
		c.Listener, c.Drain, c.WriteTimeout = smallBuffers{ln}, drain, writeTimeout
	})
	ctx := t.Context()
	tok := func(id string) string {
		s, err := n.Tokens.Mint(player.ID(id), id)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cs := make([]*client.Client, clients)
	for i := range cs {
		cs[i] = dial(t, n.WS, tok(fmt.Sprint("p", i)), client.Config{})
		if _, err := cs[i].Join(ctx, "arena", ""); err != nil {
			t.Fatal(err)
		}
	}
	bh := blackhole(t, n.Addr(), tok("blackhole"))
	// Give the server time to write into the blackhole until it blocks.
	time.Sleep(300 * time.Millisecond)
	if got := status(t, n.URL+"/readyz"); got != http.StatusOK {
		t.Fatalf("/readyz before the drain: %d, want 200", got)
	}

	start := time.Now()
	drained := make(chan time.Time, 1)
	go func() {
		_ = n.Drain(context.Background())
		drained <- time.Now()
	}()
	// Order: /readyz turns 503 before any client is closed.
	for status(t, n.URL+"/readyz") != http.StatusServiceUnavailable {
		if time.Since(start) > 30*time.Second {
			t.Fatal("/readyz never answered 503 during the drain")
		}
		time.Sleep(time.Millisecond)
	}
	readyAt := time.Since(start)
	// No client was closed before /readyz turned 503.
	for i, c := range cs {
		select {
		case <-c.Done():
			t.Errorf("client %d closed before /readyz answered 503", i)
		default:
		}
	}

	closedAt := make([]time.Duration, clients)
	var wg sync.WaitGroup
	firstClosed := make(chan struct{})
	var once sync.Once
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-c.Done():
				closedAt[i] = time.Since(start)
				once.Do(func() { close(firstClosed) })
			case <-time.After(drain + 30*time.Second):
			}
		}()
	}
	select {
	case <-firstClosed:
	case <-time.After(drain + 30*time.Second):
		t.Fatal("no client was closed by the drain")
	}
	// By the first close, matchmaking refuses and handshakes are refused;
	// the liveness probe still answers 200.
	var he *client.HTTPError
	if _, err := client.JoinOrCreate(ctx, n.URL, tok("late"), "arena", nil); !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable || he.Code != "shutting_down" {
		t.Errorf("join-or-create during the drain: %v, want 503 shutting_down", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if c, err := client.Dial(dctx, client.Config{URL: n.WS, Token: tok("late2")}); !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable {
		if c != nil {
			_ = c.Close()
		}
		t.Errorf("WebSocket dial during the drain: %v, want a 503", err)
	}
	if got := status(t, n.URL+"/healthz"); got != http.StatusOK {
		t.Errorf("/healthz during the drain: %d, want 200 (liveness)", got)
	}
	wg.Wait()
	var end time.Time
	select {
	case end = <-drained:
	case <-time.After(drain + writeTimeout + 30*time.Second):
		t.Fatal("Drain did not return")
	}
	took := end.Sub(start)
	for i, c := range cs {
		var ce *client.CloseError
		if !errors.As(c.Err(), &ce) || ce.Code != server.CloseServiceRestart {
			t.Errorf("client %d ended with %v, want close 1012", i, c.Err())
		}
	}
	sorted := slices.Clone(closedAt)
	slices.Sort(sorted)
	early := 0
	for _, d := range sorted {
		if d < drain/10 {
			early++
		}
	}
	t.Logf("drain %v of %d clients + 1 blackholed peer: /readyz 503 after %v; closes at %v; Drain returned after %v (bound drain + write timeout = %v)",
		drain, clients, readyAt, sorted, took.Round(time.Millisecond), drain+writeTimeout)
	if early == clients {
		t.Errorf("all %d closes within the first 10%% of the drain (%v): not spread", clients, sorted)
	}
	// Connection i of 13 is closed no sooner than i·drain/13: the last
	// client no sooner than 11/13 of the period.
	if last := sorted[clients-1]; last < drain*(clients-1)/(clients+1) {
		t.Errorf("last close after %v, want ≥ %v (spread over the period)", last, drain*(clients-1)/(clients+1))
	}
	// The blackholed peer is closed by then: its socket ends.
	_ = bh.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got bytes.Buffer
	_, rerr := got.ReadFrom(bh)
	t.Logf("blackholed peer: read %d bytes after the drain, then %v (close frame 1012 seen: %v)", got.Len(), rerr,
		bytes.Contains(got.Bytes(), []byte{0x03, 0xf4}))
	var ne net.Error
	if errors.As(rerr, &ne) && ne.Timeout() {
		t.Error("the blackholed peer's connection is still open after the drain")
	}
	closeStart := time.Now()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close after the drain took %v", time.Since(closeStart).Round(time.Millisecond))
	if took > drain+writeTimeout+20*time.Second {
		t.Errorf("drain took %v, want about drain + write timeout (%v)", took, drain+writeTimeout)
	}
}

func status(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// In a two-node cluster, a join-or-create through B while A drains is
// placed on B, even though A holds an open room; through A it is refused.
func TestDrainingNodeLeavesClusterPlacement(t *testing.T) {
	forBoth(t, testDrainingNodeLeavesClusterPlacement)
}

func testDrainingNodeLeavesClusterPlacement(t *testing.T, mini clustertest.Backend) {
	secret, prefix := player.RandomSecret(), clustertest.Prefix(t)
	mk := func(id string) *node.Node {
		return startNode(t, func(c *node.Config) {
			c.Redis, c.RedisPrefix, c.Secret, c.NodeID, c.LeaseTTL, c.Drain = mini.URL, prefix, secret, id, 2*time.Second, 2*time.Second
		})
	}
	a, b := mk("nodeA"), mk("nodeB")
	tok := func(id string) string {
		s, err := a.Tokens.Mint(player.ID(id), id)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ctx := t.Context()
	// An open room on A, and a second player so the drain lasts.
	for _, p := range []string{"a1", "a2"} {
		c := dial(t, a.WS, tok(p), client.Config{})
		if _, err := c.Join(ctx, "arena", ""); err != nil {
			t.Fatal(err)
		}
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		_ = a.Drain(context.Background())
	}()
	for deadline := time.Now().Add(30 * time.Second); ; {
		ns, err := b.Cluster.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) == 2 && ns[0].ID == "nodeA" && ns[0].Draining {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node A never showed as draining: %+v", ns)
		}
		time.Sleep(5 * time.Millisecond)
	}
	res, err := client.JoinOrCreate(ctx, b.URL, tok("x"), "arena", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.WSURL != b.WS {
		t.Errorf("join-or-create through B during A's drain: ws_url %s, want B's %s", res.WSURL, b.WS)
	}
	rooms, err := client.ListRooms(ctx, b.URL, tok("z"), "arena")
	if err != nil {
		t.Fatal(err)
	}
	var listed int
	for _, r := range rooms {
		if want := r.Node == "nodeA"; r.Draining != want {
			t.Errorf("listed room %+v: draining %v, want %v", r, r.Draining, want)
		}
		if r.Node == "nodeA" {
			listed++
		}
	}
	if listed == 0 {
		t.Errorf("A's room left the listings during its drain: %+v", rooms)
	}
	var he *client.HTTPError
	if _, err := client.JoinOrCreate(ctx, a.URL, tok("y"), "arena", nil); !errors.As(err, &he) || he.Code != "shutting_down" {
		t.Errorf("join-or-create through A during its drain: %v, want 503 shutting_down", err)
	}
	<-drained
}

// Logs at every level, through a full session, never contain a token:
// player tokens (guest and minted), resume tokens, seat tokens, or a bad
// token a client presented.
func TestNoTokenInLogs(t *testing.T) {
	var mu sync.Mutex
	var logs bytes.Buffer
	h := slog.NewTextHandler(&lockedWriter{mu: &mu, w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug})
	jh := slog.NewJSONHandler(&lockedWriter{mu: &mu, w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug})
	log := slog.New(fanout{h, jh})
	n := startNode(t, func(c *node.Config) { c.Logger = log; c.APIKey = "0123456789abcdef0123" })
	ctx := t.Context()
	var secrets []string

	tok, _, err := client.GuestToken(ctx, n.URL, "ada")
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, tok)
	c := dialLog(t, n.WS, tok, client.Config{Logger: log, Reconnect: &client.ReconnectPolicy{}})
	if _, err := c.Join(ctx, "arena", ""); err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, c.ResumeToken())
	// A dropped connection resumes.
	c.KillConnection()
	if err := c.WaitOnline(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(ctx, func(s client.State) bool { return s.Room != "" }); err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, c.ResumeToken())
	_ = c.Close()

	// Matchmaking: a reservation taken with its seat token, and a ticket.
	tok2, err := n.Tokens.Mint("bob", "Bob")
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, tok2)
	res, err := client.JoinOrCreate(ctx, n.URL, tok2, "arena", nil)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, res.SeatToken)
	b := dialLog(t, res.WSURL, tok2, client.Config{Logger: log})
	if _, err := b.JoinSeat(ctx, res.SeatToken); err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, b.ResumeToken())
	// A seat token used twice, and a resume token of someone else.
	b2 := dialLog(t, n.WS, tok2, client.Config{Logger: log})
	if _, err := b2.JoinSeat(ctx, res.SeatToken); err == nil {
		t.Error("a seat token taken twice")
	}
	if _, err := b2.Resume(ctx, secrets[2]); err == nil {
		t.Error("a resume with another player's token succeeded")
	}
	tok3, err := n.Tokens.Mint("cy", "Cy")
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, tok3)
	if _, err := client.CreateTicket(ctx, n.URL, tok3, client.TicketRequest{Mode: "arena"}); err != nil {
		t.Fatal(err)
	}

	// Bad tokens: garbage, and a well-formed token of another secret.
	other, _ := player.NewTokens(player.TokenConfig{Secret: player.RandomSecret()})
	forged, _ := other.Mint("mallory", "Mallory")
	for _, bad := range []string{"garbage-token-0123456789abcdefXYZ", forged} {
		secrets = append(secrets, bad)
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if c, err := client.Dial(dctx, client.Config{URL: n.WS, Token: bad, Logger: log}); err == nil {
			_ = c.Close()
			t.Error("a bad token was accepted")
		}
		cancel()
		// In the query string too (browsers), and against the API.
		if resp, err := http.Get(n.URL + "/ws?access_token=" + bad); err == nil {
			resp.Body.Close()
		}
		if _, err := client.JoinOrCreate(ctx, n.URL, bad, "arena", nil); err == nil {
			t.Error("join-or-create with a bad token succeeded")
		}
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if !strings.Contains(out, "level=DEBUG") {
		t.Fatal("no debug logs captured: the test does not see every level")
	}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("a secret under test is empty")
		}
		for _, part := range append([]string{s}, strings.Split(s, ".")...) {
			if len(part) >= 16 && strings.Contains(out, part) {
				t.Errorf("logs contain token text %q…", part[:8])
			}
		}
	}
	t.Logf("%d log lines checked for %d tokens", strings.Count(out, "\n"), len(secrets))
}

// dialLog dials with cfg.Logger kept.
func dialLog(t *testing.T, wsURL, token string, cfg client.Config) *client.Client {
	t.Helper()
	cfg.URL, cfg.Token = wsURL, token
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// fanout sends each record to every handler (text and JSON).
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool { return f[0].Enabled(ctx, l) }
func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range f {
		_ = h.Handle(ctx, r.Clone())
	}
	return nil
}
func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	g := make(fanout, len(f))
	for i, h := range f {
		g[i] = h.WithAttrs(as)
	}
	return g
}
func (f fanout) WithGroup(name string) slog.Handler {
	g := make(fanout, len(f))
	for i, h := range f {
		g[i] = h.WithGroup(name)
	}
	return g
}
