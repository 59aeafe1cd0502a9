package matchmaking

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// NewMemoryTicketStore returns the TicketStore of a single process: the
// default when Config.Tickets is nil. It never fails.
func NewMemoryTicketStore() TicketStore {
	return &memTickets{tickets: map[string]*Ticket{}, live: map[liveKey]string{}, queues: map[string][]string{}}
}

// memTickets is the in-memory TicketStore.
type memTickets struct {
	mu      sync.Mutex         // guards the fields below
	tickets map[string]*Ticket // every ticket not forgotten
	live    map[liveKey]string // the queued ticket of a (player, mode)
	queues  map[string][]string
	seq     uint64
	holder  string    // the matcher lease's holder
	until   time.Time // and its deadline
}

// liveKey indexes the queued ticket of a player in a mode.
type liveKey struct {
	player player.ID
	mode   string
}

func cloneTicket(t *Ticket) Ticket {
	c := *t
	c.Players = slices.Clone(t.Players)
	c.Reservations = maps.Clone(t.Reservations)
	return c
}

func (s *memTickets) Create(_ context.Context, t Ticket) (Ticket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range t.Players {
		if _, busy := s.live[liveKey{p, t.Mode}]; busy {
			return Ticket{}, &TicketExistsError{Player: p, Mode: t.Mode}
		}
	}
	s.seq++
	t = cloneTicket(&t)
	t.Seq, t.Status = s.seq, statusQueued
	s.tickets[t.ID] = &t
	for _, p := range t.Players {
		s.live[liveKey{p, t.Mode}] = t.ID
	}
	s.queues[t.Mode] = append(s.queues[t.Mode], t.ID)
	return cloneTicket(&t), nil
}

func (s *memTickets) Get(_ context.Context, id string) (Ticket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[id]
	if !ok {
		return Ticket{}, ErrTicketNotFound
	}
	return cloneTicket(t), nil
}

func (s *memTickets) Cancel(_ context.Context, id string, now time.Time) (Ticket, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[id]
	if !ok {
		return Ticket{}, false, ErrTicketNotFound
	}
	ended := t.Status == statusQueued
	if ended {
		s.endLocked(t, statusCancelled, now)
	}
	return cloneTicket(t), ended, nil
}

// endLocked moves a queued ticket to a final status and frees its players'
// live slots; it leaves the queue at the next Queued. s.mu must be held.
func (s *memTickets) endLocked(t *Ticket, status string, now time.Time) {
	t.Status, t.Ended = status, now
	for _, p := range t.Players {
		if s.live[liveKey{p, t.Mode}] == t.ID {
			delete(s.live, liveKey{p, t.Mode})
		}
	}
}

func (s *memTickets) Queued(_ context.Context, mode string) ([]Ticket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[mode][:0]
	var out []Ticket
	for _, id := range s.queues[mode] {
		if t, ok := s.tickets[id]; ok && t.Status == statusQueued {
			q = append(q, id)
			out = append(out, cloneTicket(t))
		}
	}
	clear(s.queues[mode][len(q):])
	s.queues[mode] = q
	return out, nil
}

func (s *memTickets) Expire(_ context.Context, ids []string, now time.Time) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range ids {
		if t, ok := s.tickets[id]; ok && t.Status == statusQueued {
			s.endLocked(t, statusExpired, now)
			out = append(out, id)
		}
	}
	return out, nil
}

func (s *memTickets) Commit(_ context.Context, holder string, m TicketMatch, now time.Time) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holder != holder || !s.until.After(now) {
		return nil, ErrTicketLeaseLost
	}
	var stale []string
	for _, r := range m.Tickets {
		if t, ok := s.tickets[r.ID]; !ok || t.Status != statusQueued || t.Mode != m.Mode {
			stale = append(stale, r.ID)
		}
	}
	if stale != nil {
		return stale, nil
	}
	for _, r := range m.Tickets {
		t := s.tickets[r.ID]
		s.endLocked(t, statusMatched, now)
		t.Team, t.Window = r.Team, r.Window
		t.Reservations = make(map[player.ID]room.Reservation, len(r.Reservations))
		for _, res := range r.Reservations {
			t.Reservations[res.Player] = res
		}
	}
	return nil, nil
}

func (s *memTickets) Forget(_ context.Context, endedBefore time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.tickets {
		if t.Status != statusQueued && t.Ended.Before(endedBefore) {
			delete(s.tickets, id)
		}
	}
	return nil
}

func (s *memTickets) Lead(_ context.Context, holder string, now time.Time, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holder != "" && s.holder != holder && s.until.After(now) {
		return false, nil
	}
	s.holder, s.until = holder, now.Add(ttl)
	return true, nil
}

func (s *memTickets) Resign(_ context.Context, holder string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holder == holder {
		s.holder, s.until = "", time.Time{}
	}
	return nil
}
