package room

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/player"
)

// Errors returned to resumers.
var (
	ErrResumeExpired  = errors.New("room: resume window expired")
	ErrResumeRejected = errors.New("room: resume token rejected")
	ErrThrottled      = errors.New("room: seat changed connections too often; retry later")
)

// tokenKey is the SHA-256 of a resume token: the directory keeps hashes,
// never the tokens themselves.
type tokenKey [sha256.Size]byte

func keyOf(token string) tokenKey { return sha256.Sum256([]byte(token)) }

// String is the key in hex, as directories store it.
func (k tokenKey) String() string { return hex.EncodeToString(k[:]) }

// newToken returns a fresh resume token: 128 random bits, base64url.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// tombstoneTTL is how long a token of an expired seat keeps answering
// resume_expired rather than resume_rejected.
const tombstoneTTL = 5 * time.Minute

// takeoverLimit and takeoverWindow bound how often a seat may change
// connections, so two clients cannot steal it from each other forever.
const (
	takeoverLimit  = 3
	takeoverWindow = time.Second
)

// ResumeRequest asks to bind an existing seat to a new connection.
type ResumeRequest struct {
	Player       player.ID // the authenticated player of the new connection
	Token        string
	LastTick     uint64 // newest tick the client applied (0: none)
	LastEventSeq uint64 // highest event seq the client received (0: none)
	Conn         Conn
	// Done receives the outcome exactly once, like JoinRequest.Done:
	// the seat, or ErrResumeExpired, ErrResumeRejected, ErrThrottled, a
	// *RedirectError (another node holds the seat), ErrRoomGone (the node
	// that held it died) or ErrUnavailable.
	Done func(s *Seat, err error)
}

// Resume routes req to the seat its token names. A token this node does
// not hold is looked up in the directory (at most
// Config.DirectoryTimeout): another node's seat is a *RedirectError. It
// never waits for the room.
func (m *Manager) Resume(req ResumeRequest) {
	key := keyOf(req.Token)
	m.mu.Lock()
	s, ok := m.tokens[key]
	var err error
	unknown := false
	switch {
	case !ok && m.tombstoned(key):
		err = ErrResumeExpired
	case !ok:
		err, unknown = ErrResumeRejected, true
	case s.Player != req.Player:
		err = ErrResumeRejected // another player's token: the seat is untouched
	}
	m.mu.Unlock()
	if unknown {
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.DirectoryTimeout)
		url, found, ferr := m.dir.FindToken(ctx, key.String())
		cancel()
		switch {
		case ferr != nil:
			err = ferr
		case found:
			err = &RedirectError{WSURL: url}
		}
	}
	if err != nil {
		req.Done(nil, err)
		return
	}
	r := s.room
	if !r.post(func() { r.resume(s, key, req) }) {
		req.Done(nil, ErrResumeExpired)
	}
}

// tombstoned reports whether key belonged to a seat that expired recently.
// m.mu must be held.
func (m *Manager) tombstoned(key tokenKey) bool {
	at, ok := m.tombs[key]
	if ok && m.cfg.Clock.Since(at) > tombstoneTTL {
		delete(m.tombs, key)
		return false
	}
	return ok
}

// rotateToken gives s a new resume token, retiring the old one, and
// returns it. Called on the room goroutine.
func (m *Manager) rotateToken(s *Seat) string {
	tok := newToken()
	key := keyOf(tok)
	old := s.token
	m.mu.Lock()
	delete(m.tokens, old)
	m.tokens[key] = s
	m.mu.Unlock()
	s.token = key
	if old != (tokenKey{}) {
		m.dir.DropToken(old.String())
	}
	m.dir.PutToken(key.String(), s.room.id)
	return tok
}

// retireToken removes s's token; if the seat expired, the token keeps
// answering resume_expired for a while.
func (m *Manager) retireToken(s *Seat) {
	m.dir.DropToken(s.token.String())
	m.mu.Lock()
	delete(m.tokens, s.token)
	if s.expired {
		m.tombs[s.token] = m.cfg.Clock.Now()
		if len(m.tombs) > 4096 {
			for k, at := range m.tombs { // sweep the old ones now and then
				if m.cfg.Clock.Since(at) > tombstoneTTL {
					delete(m.tombs, k)
				}
			}
		}
	}
	m.mu.Unlock()
}

// resume runs on the room goroutine: it checks the token is still the
// seat's current one (tokens are single use), takes the seat over from a
// live connection if there is one, and resynchronises the client at once.
func (r *Room) resume(s *Seat, key tokenKey, req ResumeRequest) {
	switch {
	case s.gone && s.expired:
		req.Done(nil, ErrResumeExpired)
		return
	case s.gone || s.token != key:
		req.Done(nil, ErrResumeRejected)
		return
	}
	now := r.clock.Now()
	wasConnected := s.conn != nil
	if wasConnected {
		if !s.takeovers[0].IsZero() && now.Sub(s.takeovers[0]) < takeoverWindow {
			req.Done(nil, ErrThrottled)
			return
		}
		copy(s.takeovers[:], s.takeovers[1:])
		s.takeovers[takeoverLimit-1] = now
		s.conn.Replaced(s)
	}
	s.conn = req.Conn
	s.graceUntil = time.Time{}
	if req.LastTick <= r.tick {
		s.ack.v.Store(req.LastTick)
	} else {
		s.ack.v.Store(0)
	}
	tok := r.m.rotateToken(s)
	req.Done(s, nil)

	evs, lost := s.events.after(req.LastEventSeq)
	b := netcode.NewBuffer(96 + len(r.typ.schema))
	netcode.AppendResumed(b, r.seatInfo(tok), !lost)
	s.conn.Deliver(b.B)
	s.evSeq = req.LastEventSeq // if the resync frame is refused, the next frame carries them
	if r.fan.sendResync(r, s, evs) {
		s.evSeq = r.evSeq
	}
	r.stats.resumes.Add(1)
	if !wasConnected {
		r.guard("reconnected", func() { r.game.reconnected(&r.ctx, s) })
	}
}

// disconnect marks s disconnected (its connection c ended without a
// consented leave) and starts the grace window, or frees the seat at once
// if the type has none. A stale c (the seat moved on) is ignored.
func (r *Room) disconnect(s *Seat, c Conn) {
	if s.gone || s.conn != c {
		return
	}
	if r.typ.cfg.Grace < 0 {
		r.removeSeat(s, LeaveDisconnected)
		return
	}
	s.conn = nil
	s.graceUntil = r.clock.Now().Add(r.typ.cfg.Grace)
	r.guard("disconnected", func() { r.game.disconnected(&r.ctx, s) })
}

// expireGrace frees the seats whose grace window has ended.
func (r *Room) expireGrace(now time.Time) {
	for i := 0; i < len(r.seats); i++ {
		s := r.seats[i]
		if s.conn == nil && !s.graceUntil.IsZero() && !now.Before(s.graceUntil) {
			s.expired = true
			r.removeSeat(s, LeaveTimeout)
			i--
		}
	}
}

// seatInfo describes the room for joined/resumed.
func (r *Room) seatInfo(token string) netcode.SeatInfo {
	return netcode.SeatInfo{
		RoomID:      r.id,
		RoomType:    r.typ.cfg.Name,
		TickRate:    r.typ.cfg.TickRate,
		History:     r.typ.cfg.History,
		Schema:      r.typ.schema,
		ResumeToken: token,
	}
}
