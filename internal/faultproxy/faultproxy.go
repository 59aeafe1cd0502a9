// Package faultproxy is a small in-process TCP proxy that injects network
// faults between a client and a server, for tests: latency with jitter,
// connection resets and blackholes, now or at a given time. It owns its
// listener, the links it proxies and every goroutine it starts; Close
// stops them all and waits for them.
//
// Faults apply to every link, in both directions:
//   - Latency: each chunk of bytes is delivered latency + rand[0, jitter)
//     after it was read, in order (a chunk is never delivered before the
//     one read before it).
//   - Reset: every open link is closed with a TCP RST on both sides (new
//     links are accepted as usual).
//   - Blackhole: nothing is delivered, on open links and on new ones, until
//     it is lifted; bytes read meanwhile wait (then the kernel buffers fill
//     and the senders stall), like a network that drops every packet and a
//     TCP that retransmits. When lifted, what waited is delivered.
package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Config configures a Proxy.
type Config struct {
	// Upstream is the address links are proxied to, e.g. "127.0.0.1:8080".
	// Required.
	Upstream string
	// Listen is the address to listen on; default "127.0.0.1:0".
	Listen string
	// Seed seeds the jitter; 0: a random seed.
	Seed uint64
}

// Proxy is a running fault proxy. Its methods are safe for concurrent use.
type Proxy struct {
	cfg Config
	ln  net.Listener
	wg  sync.WaitGroup // the accept loop, every link's goroutines, scheduled faults

	mu       sync.Mutex // guards the fields below
	links    map[*link]struct{}
	latency  time.Duration
	jitter   time.Duration
	rng      *rand.Rand
	holeOpen chan struct{} // closed while no blackhole is in force
	timers   []*time.Timer
	closed   bool
	accepted int
	resets   int
}

// Stats are a Proxy's counters.
type Stats struct {
	Accepted int // links accepted
	Open     int // links open now
	Resets   int // links reset by Reset
}

// New listens and starts proxying to cfg.Upstream.
func New(cfg Config) (*Proxy, error) {
	if cfg.Upstream == "" {
		return nil, errors.New("faultproxy: Config.Upstream is required")
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	open := make(chan struct{})
	close(open)
	p := &Proxy{cfg: cfg, ln: ln, links: map[*link]struct{}{}, holeOpen: open,
		rng: rand.New(rand.NewPCG(cfg.Seed, 0xfa17))}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.accept()
	}()
	return p, nil
}

// Addr is the address clients connect to (host:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetLatency delays every chunk by latency plus a uniformly random
// [0, jitter); zeros remove the delay. It applies to chunks read from now on.
func (p *Proxy) SetLatency(latency, jitter time.Duration) {
	p.mu.Lock()
	p.latency, p.jitter = max(0, latency), max(0, jitter)
	p.mu.Unlock()
}

// Blackhole starts (on) or lifts (off) a blackhole.
func (p *Proxy) Blackhole(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.holeOpen: // no blackhole in force
		if on {
			p.holeOpen = make(chan struct{})
		}
	default:
		if !on {
			close(p.holeOpen)
		}
	}
}

// Reset closes every open link with a TCP RST on both sides.
func (p *Proxy) Reset() {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.resets += len(links)
	p.mu.Unlock()
	for _, l := range links {
		l.close(true)
	}
}

// At runs fault (e.g. p.Reset) after d, on its own goroutine, unless the
// proxy is closed first.
func (p *Proxy) At(d time.Duration, fault func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.wg.Add(1)
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		defer p.wg.Done()
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if !closed {
			fault()
		}
	})
	p.timers = append(p.timers, t)
}

// Stats returns the proxy's counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Accepted: p.accepted, Open: len(p.links), Resets: p.resets}
}

// Close stops listening, closes every link, cancels scheduled faults and
// waits for every goroutine of the proxy.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	for _, t := range p.timers {
		if t.Stop() {
			p.wg.Done() // its func will never run
		}
	}
	select {
	case <-p.holeOpen:
	default:
		close(p.holeOpen) // release writers waiting on the blackhole
	}
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, l := range links {
		l.close(false)
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		up, err := net.DialTimeout("tcp", p.cfg.Upstream, 5*time.Second)
		if err != nil {
			_ = down.Close()
			continue
		}
		l := &link{p: p, down: down, up: up, done: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = down.Close()
			_ = up.Close()
			return
		}
		p.links[l] = struct{}{}
		p.accepted++
		p.mu.Unlock()
		l.start()
	}
}

// link is one proxied connection: client side down, server side up.
type link struct {
	p        *Proxy
	down, up net.Conn
	once     sync.Once
	done     chan struct{} // closed by close
}

// chunk is bytes read from one side, to be delivered at due.
type chunk struct {
	b   []byte
	due time.Time
}

func (l *link) start() {
	var wg sync.WaitGroup
	for _, dir := range [][2]net.Conn{{l.down, l.up}, {l.up, l.down}} {
		q := make(chan chunk, 256)
		wg.Add(2)
		go func() { defer wg.Done(); l.read(dir[0], q) }()
		go func() { defer wg.Done(); l.write(dir[1], q) }()
	}
	l.p.wg.Add(1)
	go func() {
		defer l.p.wg.Done()
		wg.Wait()
		l.close(false)
		l.p.mu.Lock()
		delete(l.p.links, l)
		l.p.mu.Unlock()
	}()
}

// read reads from src into q, stamping each chunk with its due time.
func (l *link) read(src net.Conn, q chan<- chunk) {
	defer close(q)
	var last time.Time
	for {
		buf := make([]byte, 32<<10)
		n, err := src.Read(buf)
		if n > 0 {
			l.p.mu.Lock()
			d := l.p.latency
			if l.p.jitter > 0 {
				d += time.Duration(l.p.rng.Int64N(int64(l.p.jitter)))
			}
			l.p.mu.Unlock()
			due := time.Now().Add(d)
			if due.Before(last) {
				due = last // never overtake the chunk before
			}
			last = due
			select {
			case q <- chunk{buf[:n], due}:
			case <-l.done:
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				l.close(false)
			}
			return
		}
	}
}

// write delivers q's chunks to dst at their due time, when no blackhole
// is in force.
func (l *link) write(dst net.Conn, q <-chan chunk) {
	for c := range q {
		if wait := time.Until(c.due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-l.done:
				t.Stop()
				return
			}
		}
		for {
			l.p.mu.Lock()
			open := l.p.holeOpen
			l.p.mu.Unlock()
			select {
			case <-open:
			case <-l.done:
				return
			}
			// The blackhole may have started again between the two reads
			// of holeOpen; check once more.
			l.p.mu.Lock()
			still := open == l.p.holeOpen
			l.p.mu.Unlock()
			if still {
				break
			}
		}
		if _, err := dst.Write(c.b); err != nil {
			l.close(false)
			return
		}
	}
	// The source side ended cleanly: pass the half-close on.
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// close closes both sides, with a TCP RST when rst.
func (l *link) close(rst bool) {
	l.once.Do(func() {
		close(l.done)
		for _, c := range []net.Conn{l.down, l.up} {
			if tc, ok := c.(*net.TCPConn); ok && rst {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
		}
	})
}
