package matchmaking

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// playerReservationJSON is openapi.yaml PlayerReservation.
type playerReservationJSON struct {
	PlayerID player.ID `json:"player_id"`
	reservationJSON
}

// reserveSeats: POST /v1/reservations {mode, room_id, players, metadata},
// for the game's backend (API key): seats for chosen players, all in one room.
func (s *Service) reserveSeats(r *http.Request, _ caller, body []byte) (reply, error) {
	var req struct {
		Mode     string            `json:"mode"`
		RoomID   string            `json:"room_id"`
		Players  []player.ID       `json:"players"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := decode(body, &req); err != nil {
		return reply{}, err
	}
	if len(req.Players) == 0 || len(req.Players) > 256 {
		return reply{}, badRequest("players must list 1..256 player IDs")
	}
	for i, p := range req.Players {
		if err := checkPlayerID(p); err != nil {
			return reply{}, err
		}
		if slices.Contains(req.Players[:i], p) {
			return reply{}, badRequest("players lists " + string(p) + " twice")
		}
	}
	if err := checkMap("metadata", req.Metadata); err != nil {
		return reply{}, err
	}
	if req.RoomID != "" && req.Metadata != nil {
		return reply{}, badRequest("metadata is only for a new room (no room_id)")
	}
	if len(req.RoomID) > 64 {
		return reply{}, badRequest("room_id is at most 64 bytes")
	}
	if err := s.knownMode(req.Mode); err != nil {
		return reply{}, err
	}
	sel := room.Selector{Type: req.Mode, RoomID: req.RoomID}
	if req.RoomID == "" {
		sel.Create, sel.Private, sel.Metadata = true, true, req.Metadata
		if sel.Metadata == nil {
			sel.Metadata = map[string]string{}
		}
	}
	res, err := s.cfg.Rooms.ReserveGroup(r.Context(), req.Players, sel)
	if err != nil {
		return reply{}, err
	}
	out := make([]playerReservationJSON, len(res))
	until := time.Time{}
	for i, rv := range res {
		out[i] = playerReservationJSON{PlayerID: rv.Player, reservationJSON: s.resJSON(r, rv)}
		until = rv.ExpiresAt
	}
	return reply{status: http.StatusOK, v: struct {
		Reservations []playerReservationJSON `json:"reservations"`
	}{out}, until: until}, nil
}

// ModeStats are one ticket mode's queue statistics (openapi.yaml ModeStats): waiting
// tickets now, and counters since the Service started.
type ModeStats struct {
	Mode             string  `json:"mode"`
	TicketsWaiting   int     `json:"tickets_waiting"`
	PlayersWaiting   int     `json:"players_waiting"`
	OldestWaitMS     int64   `json:"oldest_wait_ms"`
	MedianWaitMS     int64   `json:"median_wait_ms"`
	MatchesMade      int     `json:"matches_made"`
	PlayersMatched   int     `json:"players_matched"`
	TicketsExpired   int     `json:"tickets_expired"`
	TicketsCancelled int     `json:"tickets_cancelled"`
	AvgRatingSpread  float64 `json:"avg_rating_spread"`
}

// serveStats: GET /v1/matchmaking/stats (API key or player token).
func (s *Service) serveStats(r *http.Request, _ caller, _ []byte) (reply, error) {
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	stats, err := s.Stats(ctx)
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, v: struct {
		Modes []ModeStats `json:"modes"`
	}{stats}}, nil
}

// Stats returns the queue statistics of every ticket mode, sorted by mode:
// the waiting tickets as the store has them, and the counters of what
// this Service did (its matcher's matches and expiries, its cancels).
func (s *Service) Stats(ctx context.Context) ([]ModeStats, error) {
	now := s.clock.Now()
	out := make([]ModeStats, 0, len(s.names))
	for _, name := range s.names {
		queued, err := s.store.Queued(ctx, name)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		st := s.stats[name]
		ms := ModeStats{Mode: name, MedianWaitMS: st.medianWait().Milliseconds(), MatchesMade: st.matches,
			PlayersMatched: st.playersMatched, TicketsExpired: st.expired, TicketsCancelled: st.cancelled}
		if st.matches > 0 {
			ms.AvgRatingSpread = st.spreadSum / float64(st.matches)
		}
		s.mu.Unlock()
		for _, t := range queued {
			ms.TicketsWaiting++
			ms.PlayersWaiting += len(t.Players)
			ms.OldestWaitMS = max(ms.OldestWaitMS, now.Sub(t.Created).Milliseconds())
		}
		out = append(out, ms)
	}
	return out, nil
}
