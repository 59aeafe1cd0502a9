package matchmaking

import (
	"crypto/rand"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// Ticket states (openapi.yaml Ticket.status).
const (
	statusQueued    = "queued"
	statusMatched   = "matched"
	statusExpired   = "expired"
	statusCancelled = "cancelled"
)

// ticket is one queue entry: a player, or a party that plays on one team.
// Guarded by Service.mu.
type ticket struct {
	id      string
	mode    *Mode
	players []player.ID // the owner first
	rating  float64
	region  string
	created time.Time
	seq     uint64 // arrival order

	status string
	ended  time.Time // when it stopped being queued
	window float64   // at match time
	team   int
	res    map[player.ID]room.Reservation // matched: each member's seat
}

func (t *ticket) has(p player.ID) bool { return slices.Contains(t.players, p) }

// liveKey indexes the queued ticket of a player in a mode.
type liveKey struct {
	player player.ID
	mode   string
}

// modeCounters are one mode's counters. Guarded by Service.mu.
type modeCounters struct {
	matches, playersMatched, expired, cancelled int
	spreadSum                                   float64
	waits                                       [1024]time.Duration // queue times of the latest matched tickets (ring)
	nwaits                                      int                 // matched tickets ever
}

func (st *modeCounters) addWait(d time.Duration) {
	st.waits[st.nwaits%len(st.waits)] = d
	st.nwaits++
}

func (st *modeCounters) medianWait() time.Duration {
	n := min(st.nwaits, len(st.waits))
	if n == 0 {
		return 0
	}
	w := slices.Clone(st.waits[:n])
	slices.Sort(w)
	return w[n/2]
}

// ticketJSON is a ticket on the wire (openapi.yaml Ticket).
type ticketJSON struct {
	TicketID    string           `json:"ticket_id"`
	Mode        string           `json:"mode"`
	Status      string           `json:"status"`
	Players     []player.ID      `json:"players"`
	Rating      float64          `json:"rating"`
	Region      string           `json:"region,omitempty"`
	CreatedAt   time.Time        `json:"created_at"`
	WaitMS      int64            `json:"wait_ms"`
	Window      float64          `json:"window"`
	Team        *int             `json:"team,omitempty"`
	Reservation *reservationJSON `json:"reservation,omitempty"`
}

// view renders t for player p. s.mu must be held.
func (s *Service) viewLocked(t *ticket, p player.ID, r *http.Request, now time.Time) ticketJSON {
	v := ticketJSON{TicketID: t.id, Mode: t.mode.Name, Status: t.status, Players: t.players, Rating: t.rating,
		Region: t.region, CreatedAt: t.created.UTC()}
	end := now
	if t.status != statusQueued {
		end = t.ended
	}
	v.WaitMS = end.Sub(t.created).Milliseconds()
	v.Window = t.mode.Window.At(end.Sub(t.created))
	if t.status == statusMatched {
		v.Window = t.window
		team := t.team
		v.Team = &team
		if res, ok := t.res[p]; ok {
			rj := toJSON(res, s.wsURL(r))
			v.Reservation = &rj
		}
	}
	return v
}

// createTicket: POST /v1/matchmaking/tickets {mode, rating, region, party}.
func (s *Service) createTicket(r *http.Request, c caller, body []byte) (reply, error) {
	var req struct {
		Mode   string      `json:"mode"`
		Rating *float64    `json:"rating"`
		Region string      `json:"region"`
		Party  []player.ID `json:"party"`
	}
	if err := decode(body, &req); err != nil {
		return reply{}, err
	}
	if err := checkMode(req.Mode); err != nil {
		return reply{}, err
	}
	if len(req.Region) > maxRegionLen {
		return reply{}, badRequest("region is at most 32 bytes")
	}
	if req.Rating != nil && (math.IsNaN(*req.Rating) || math.Abs(*req.Rating) > 1e6) {
		return reply{}, badRequest("rating must be within ±1000000")
	}
	for _, p := range req.Party {
		if err := checkPlayerID(p); err != nil {
			return reply{}, err
		}
	}
	t, err := s.enqueue(c.player, req.Mode, req.Rating, req.Region, req.Party)
	if err != nil {
		return reply{}, err
	}
	s.mu.Lock()
	v := s.viewLocked(t, c.player, r, s.clock.Now())
	s.mu.Unlock()
	return reply{status: http.StatusCreated, v: v, location: "/v1/matchmaking/tickets/" + t.id}, nil
}

// enqueue queues a ticket for owner and party in a mode (nil rating: the
// mode's default). Duplicates in party, and the owner in it, are ignored.
func (s *Service) enqueue(owner player.ID, mode string, rating *float64, region string, party []player.ID) (*ticket, error) {
	m, ok := s.modes[mode]
	if !ok {
		if s.cfg.Rooms.HasType(mode) {
			return nil, apiErr(http.StatusNotFound, "unknown_mode", "this mode has no ticket queue")
		}
		return nil, room.ErrUnknownType
	}
	players := []player.ID{owner}
	for _, p := range party {
		if !slices.Contains(players, p) {
			players = append(players, p)
		}
	}
	if len(players) > m.teamSize() {
		return nil, badRequest(fmt.Sprintf("a party in mode %s is at most %d players (one team)", mode, m.teamSize()))
	}
	t := &ticket{id: newTicketID(), mode: m, players: players, rating: m.DefaultRating, region: region, status: statusQueued}
	if rating != nil {
		t.rating = *rating
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil, errShuttingDown
	}
	for _, p := range players {
		if _, busy := s.live[liveKey{p, mode}]; busy {
			return nil, apiErr(http.StatusConflict, "ticket_exists", fmt.Sprintf("player %s already has a queued ticket in mode %s", p, mode))
		}
	}
	s.seq++
	t.seq = s.seq
	t.created = s.clock.Now()
	s.tickets[t.id] = t
	for _, p := range players {
		s.live[liveKey{p, mode}] = t
	}
	s.queues[mode] = append(s.queues[mode], t)
	return t, nil
}

func newTicketID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("t%x", b)
}

// getTicket: GET /v1/matchmaking/tickets/{id}, for a member of the ticket.
func (s *Service) getTicket(r *http.Request, c caller, _ []byte) (reply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[r.PathValue("id")]
	if !ok || !t.has(c.player) {
		return reply{}, errTicketNotFound
	}
	return reply{status: http.StatusOK, v: s.viewLocked(t, c.player, r, s.clock.Now())}, nil
}

// cancelTicket: DELETE /v1/matchmaking/tickets/{id}, by a member of the ticket.
func (s *Service) cancelTicket(r *http.Request, c caller, _ []byte) (reply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[r.PathValue("id")]
	if !ok || !t.has(c.player) {
		return reply{}, errTicketNotFound
	}
	now := s.clock.Now()
	switch t.status {
	case statusMatched:
		return reply{}, apiErr(http.StatusConflict, "ticket_matched", "the ticket is already matched; its seats are reserved")
	case statusQueued:
		s.endLocked(t, statusCancelled, now)
		s.stats[t.mode.Name].cancelled++
	}
	return reply{status: http.StatusOK, v: s.viewLocked(t, c.player, r, now)}, nil
}

// endLocked moves a queued ticket to a final status and frees its
// players' live slots. It stays in s.queues until the next pass drops it.
func (s *Service) endLocked(t *ticket, status string, now time.Time) {
	t.status = status
	t.ended = now
	for _, p := range t.players {
		if s.live[liveKey{p, t.mode.Name}] == t {
			delete(s.live, liveKey{p, t.mode.Name})
		}
	}
}

// forgetEndedLocked drops tickets that ended more than Retention ago.
func (s *Service) forgetEndedLocked(now time.Time) {
	for id, t := range s.tickets {
		if t.status != statusQueued && now.Sub(t.ended) > s.cfg.Retention {
			delete(s.tickets, id)
		}
	}
}

// push sends `matched` to every live connection of every player of m.
// Called with no lock held.
func (s *Service) push(m *match) {
	for _, t := range m.tickets {
		for _, p := range t.players {
			res := m.res[p]
			b := netcode.NewBuffer(128)
			netcode.AppendMatched(b, t.id, res.RoomType, res.RoomID, res.SeatToken, uint64(res.ExpiresAt.UnixMilli()), res.WSURL)
			s.cfg.Notify(p, b.B) // b is not reused: Notify may keep msg
		}
	}
}
