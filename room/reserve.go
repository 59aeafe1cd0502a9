package room

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/tickroom/tickroom/player"
)

// Errors of seat reservations.
var (
	ErrSeatInvalid = errors.New("room: seat token not valid for this player")
	ErrSeatExpired = errors.New("room: seat reservation expired")
)

// Reservation is a seat held for one player in one room until ExpiresAt.
// The player takes it by joining with SeatToken (single use).
type Reservation struct {
	Player    player.ID
	RoomID    string
	RoomType  string
	Code      string // join code, if the room is private
	SeatToken string
	ExpiresAt time.Time
	// Node owns the room; WSURL is its WebSocket URL when it is another
	// node than the one that made the reservation ("" for this node's).
	Node  string
	WSURL string
}

type reservation struct {
	slot   *roomSlot
	player player.ID
	key    tokenKey
	timer  clockwork.Timer
}

// Reserve holds a seat for p in the room sel picks (join-or-create,
// a room by ID or code, or a new room). The seat counts against capacity
// at once, so concurrent callers never overfill a room or create a second
// one while the first has free seats.
func (m *Manager) Reserve(ctx context.Context, p player.ID, sel Selector) (Reservation, error) {
	res, err := m.ReserveGroup(ctx, []player.ID{p}, sel)
	if err != nil {
		return Reservation{}, err
	}
	return res[0], nil
}

// ReserveGroup holds one seat per player, all in the same room, or none.
// Matchmaking uses it to seat a match together; a game backend to seat a
// chosen group (a tournament table).
func (m *Manager) ReserveGroup(ctx context.Context, players []player.ID, sel Selector) ([]Reservation, error) {
	if len(players) == 0 {
		return nil, errors.New("room: ReserveGroup with no players")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	slot, err := m.pickLocked(sel, len(players))
	if err != nil {
		return nil, err
	}
	exp := m.cfg.Clock.Now().Add(m.cfg.ReservationTTL)
	out := make([]Reservation, len(players))
	for i, p := range players {
		tok := newSeatToken()
		key := keyOf(tok)
		rv := &reservation{slot: slot, player: p, key: key}
		rv.timer = m.cfg.Clock.AfterFunc(m.cfg.ReservationTTL, func() { m.expireSeat(key) })
		m.seats[key] = rv
		out[i] = Reservation{Player: p, RoomID: slot.r.id, RoomType: slot.r.typ.cfg.Name, Code: slot.code, SeatToken: tok, ExpiresAt: exp}
	}
	return out, nil
}

// newSeatToken returns a random seat token ("s" + 128 bits, base32hex).
func newSeatToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("s%x", b)
}

// expireSeat frees an untaken reservation.
func (m *Manager) expireSeat(key tokenKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rv, ok := m.seats[key]
	if !ok {
		return
	}
	delete(m.seats, key)
	m.tombs[key] = m.cfg.Clock.Now()
	if rv.slot.occupancy > 0 {
		rv.slot.occupancy--
	}
}

// consumeSeat takes a reservation for player p: it must be p's and live.
// The seat stays counted; the join that follows fills it.
func (m *Manager) consumeSeat(token string, p player.ID) (*roomSlot, error) {
	key := keyOf(token)
	m.mu.Lock()
	defer m.mu.Unlock()
	rv, ok := m.seats[key]
	switch {
	case !ok && m.tombstoned(key):
		return nil, ErrSeatExpired
	case !ok:
		return nil, ErrSeatInvalid
	case rv.player != p:
		return nil, ErrSeatInvalid // someone else's token: it stays valid for its owner
	}
	delete(m.seats, key)
	rv.timer.Stop()
	if rv.slot.gone {
		return nil, ErrRoomNotFound
	}
	return rv.slot, nil
}

// List returns the public rooms of a type (all types if typ is empty).
func (m *Manager) List(ctx context.Context, typ string) ([]RoomInfo, error) {
	all := m.Rooms()
	out := all[:0]
	for _, r := range all {
		if !r.Private && (typ == "" || r.Type == typ) {
			out = append(out, r)
		}
	}
	return out, nil
}

// HasType reports whether typ is a registered room type.
func (m *Manager) HasType(typ string) bool {
	_, ok := m.types[typ]
	return ok
}

// Capacity returns the seats per room of a type.
func (m *Manager) Capacity(typ string) (int, bool) {
	t, ok := m.types[typ]
	if !ok {
		return 0, false
	}
	return t.cfg.Capacity, true
}

// Metadata returns a copy of the room's metadata (set at creation from
// the matchmaking request, or by SetMetadata).
func (c *Ctx) Metadata() map[string]string {
	m := c.r.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if slot, ok := m.rooms[c.r.id]; ok {
		return maps.Clone(slot.meta)
	}
	return nil
}

// SetMetadata replaces a key of the room's metadata (matched by
// join-or-create filters and shown in listings).
func (c *Ctx) SetMetadata(key, value string) {
	m := c.r.m
	m.mu.Lock()
	if slot, ok := m.rooms[c.r.id]; ok {
		slot.meta = maps.Clone(slot.meta)
		if slot.meta == nil {
			slot.meta = map[string]string{}
		}
		slot.meta[key] = value
	}
	m.mu.Unlock()
}

// codeAlphabet avoids look-alike characters (0/O, 1/I/L).
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// newCodeLocked returns an unused 6-character join code. m.mu must be held.
func (m *Manager) newCodeLocked() string {
	for {
		var b [6]byte
		_, _ = rand.Read(b[:])
		for i := range b {
			b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
		}
		if _, taken := m.codes[string(b[:])]; !taken {
			return string(b[:])
		}
	}
}
