package matchmaking

import (
	"context"
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

// ticket is one queue entry as the matcher and the handlers see it: a
// store Ticket with its Mode resolved. A *ticket is a snapshot read from
// the store, owned by the goroutine that read it.
type ticket struct {
	id      string
	mode    *Mode       // nil if this node has no such mode (a node configured differently)
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

// fromStore resolves a stored ticket's mode.
func (s *Service) fromStore(st Ticket) *ticket {
	return &ticket{id: st.ID, mode: s.modes[st.Mode], players: st.Players, rating: st.Rating, region: st.Region,
		created: st.Created, seq: st.Seq, status: st.Status, ended: st.Ended, window: st.Window, team: st.Team, res: st.Reservations}
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

// view renders t for player p.
func (s *Service) view(t *ticket, mode string, p player.ID, r *http.Request, now time.Time) ticketJSON {
	v := ticketJSON{TicketID: t.id, Mode: mode, Status: t.status, Players: t.players, Rating: t.rating,
		Region: t.region, CreatedAt: t.created.UTC()}
	end := now
	if t.status != statusQueued {
		end = t.ended
	}
	v.WaitMS = max(end.Sub(t.created).Milliseconds(), 0)
	if t.mode != nil {
		v.Window = t.mode.Window.At(end.Sub(t.created))
	}
	if t.status == statusMatched {
		v.Window = t.window
		team := t.team
		v.Team = &team
		if res, ok := t.res[p]; ok {
			rj := s.resJSON(r, res)
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
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	t, err := s.enqueue(ctx, c.player, req.Mode, req.Rating, req.Region, req.Party)
	if err != nil {
		return reply{}, err
	}
	v := s.view(t, req.Mode, c.player, r, s.clock.Now())
	return reply{status: http.StatusCreated, v: v, location: "/v1/matchmaking/tickets/" + t.id}, nil
}

// enqueue queues a ticket for owner and party in a mode (nil rating: the
// mode's default). Duplicates in party, and the owner in it, are ignored.
func (s *Service) enqueue(ctx context.Context, owner player.ID, mode string, rating *float64, region string, party []player.ID) (*ticket, error) {
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
	if s.closed.Load() {
		return nil, errShuttingDown
	}
	t := Ticket{ID: newTicketID(), Mode: mode, Players: players, Rating: m.DefaultRating, Region: region, Created: s.clock.Now()}
	if rating != nil {
		t.Rating = *rating
	}
	st, err := s.store.Create(ctx, t)
	if err != nil {
		return nil, err
	}
	return s.fromStore(st), nil
}

// storeTimeout bounds the store calls of one request: with the store out,
// the request is answered 503 unavailable within it.
const storeTimeout = time.Second

func newTicketID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("t%x", b)
}

// getTicket: GET /v1/matchmaking/tickets/{id}, for a member of the ticket.
func (s *Service) getTicket(r *http.Request, c caller, _ []byte) (reply, error) {
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	st, err := s.store.Get(ctx, r.PathValue("id"))
	if err != nil {
		return reply{}, err
	}
	t := s.fromStore(st)
	if !t.has(c.player) {
		return reply{}, ErrTicketNotFound
	}
	return reply{status: http.StatusOK, v: s.view(t, st.Mode, c.player, r, s.clock.Now())}, nil
}

// cancelTicket: DELETE /v1/matchmaking/tickets/{id}, by a member of the ticket.
func (s *Service) cancelTicket(r *http.Request, c caller, _ []byte) (reply, error) {
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	id := r.PathValue("id")
	st, err := s.store.Get(ctx, id)
	if err != nil {
		return reply{}, err
	}
	if !slices.Contains(st.Players, c.player) {
		return reply{}, ErrTicketNotFound
	}
	now := s.clock.Now()
	if st.Status == statusQueued {
		var cancelled bool
		if st, cancelled, err = s.store.Cancel(ctx, id, now); err != nil {
			return reply{}, err
		}
		if cancelled {
			s.mu.Lock()
			if cnt := s.stats[st.Mode]; cnt != nil {
				cnt.cancelled++
			}
			s.mu.Unlock()
		}
	}
	if st.Status == statusMatched {
		return reply{}, apiErr(http.StatusConflict, "ticket_matched", "the ticket is already matched; its seats are reserved")
	}
	return reply{status: http.StatusOK, v: s.view(s.fromStore(st), st.Mode, c.player, r, now)}, nil
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
