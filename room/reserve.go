package room

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"time"

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

// Reserve holds a seat for p in the room sel picks (join-or-create,
// a room by ID or code, or a new room), on any node of the directory. The
// seat counts against capacity at once, so concurrent callers never
// overfill a room or create a second one while the first has free seats.
func (m *Manager) Reserve(ctx context.Context, p player.ID, sel Selector) (Reservation, error) {
	res, err := m.ReserveGroup(ctx, []player.ID{p}, sel)
	if err != nil {
		return Reservation{}, err
	}
	return res[0], nil
}

// ReserveGroup holds one seat per player, all in the same room, or none.
// Matchmaking uses it to seat a match together; a game backend to seat a
// chosen group (a tournament table). It waits for the directory, at most
// Config.DirectoryTimeout.
func (m *Manager) ReserveGroup(ctx context.Context, players []player.ID, sel Selector) ([]Reservation, error) {
	if len(players) == 0 {
		return nil, errors.New("room: ReserveGroup with no players")
	}
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	capacity := 0
	if sel.RoomID == "" && sel.Code == "" {
		t, ok := m.types[sel.Type]
		if !ok {
			return nil, ErrUnknownType
		}
		capacity = t.cfg.Capacity
		if len(players) > capacity {
			return nil, ErrRoomFull
		}
	}
	tokens := make([]string, len(players))
	for i := range tokens {
		tokens[i] = newSeatToken()
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.DirectoryTimeout)
	defer cancel()
	pl, exp, err := m.dir.Reserve(ctx, sel, capacity, players, tokens, m.cfg.ReservationTTL)
	if err != nil {
		return nil, err
	}
	if pl.Local {
		// The room starts now (its game may lock it or set metadata at
		// creation); a room placed on another node starts there when its
		// first player arrives.
		if _, err := m.run(pl, 0); err != nil {
			return nil, err
		}
	}
	out := make([]Reservation, len(players))
	for i, p := range players {
		out[i] = Reservation{Player: p, RoomID: pl.RoomID, RoomType: pl.Type, Code: pl.Code, SeatToken: tokens[i], ExpiresAt: exp, Node: pl.Node}
		if !pl.Local {
			out[i].WSURL = pl.WSURL
		}
	}
	return out, nil
}

// newSeatToken returns a random seat token ("s" + 128 bits, hex).
func newSeatToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("s%x", b)
}

// List returns the public rooms of a type (all types if typ is empty), on
// every node of the directory.
func (m *Manager) List(ctx context.Context, typ string) ([]RoomInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.DirectoryTimeout)
	defer cancel()
	all, err := m.dir.List(ctx, typ)
	if err != nil {
		return nil, err
	}
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
	slot, ok := m.rooms[c.r.id]
	if !ok {
		m.mu.Unlock()
		return
	}
	slot.meta = maps.Clone(slot.meta)
	if slot.meta == nil {
		slot.meta = map[string]string{}
	}
	slot.meta[key] = value
	meta := maps.Clone(slot.meta)
	m.mu.Unlock()
	m.dir.SetMetadata(c.r.id, meta)
}
