package matchmaking

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// match is a group of tickets the matcher put together.
type match struct {
	mode    *Mode
	tickets []*ticket
	teams   []int   // team of each ticket
	window  float64 // the oldest ticket's window when the match was made
	spread  float64 // highest minus lowest ticket rating
	partial bool    // fewer than MaxPlayers (after MaxWait)
	roomID  string
	res     map[player.ID]room.Reservation
}

// players returns the match's players, team by team.
func (m *match) players() []player.ID {
	var out []player.ID
	for team := range m.mode.Teams {
		for i, t := range m.tickets {
			if m.teams[i] == team {
				out = append(out, t.players...)
			}
		}
	}
	return out
}

// passMode is one matcher pass over a mode: it reads the mode's queued
// tickets from the store, expires old ones, forms matches (formMatches),
// seats each in a new private room and commits it to the store. A match
// whose seats cannot be reserved, or that the store refuses (a ticket was
// cancelled or matched meanwhile), leaves its tickets as they are; its
// reservations, if any, simply expire. It returns ErrTicketLeaseLost when
// another matcher took the lease: the pass must stop. No lock is held
// while it waits on the store or the rooms.
func (s *Service) passMode(ctx context.Context, m *Mode, now time.Time) ([]*match, error) {
	stored, err := s.store.Queued(ctx, m.Name)
	if err != nil {
		return nil, err
	}
	var old []string
	q := make([]*ticket, 0, len(stored))
	for _, st := range stored {
		if now.Sub(st.Created) >= m.TicketTTL {
			old = append(old, st.ID)
			continue
		}
		q = append(q, s.fromStore(st))
	}
	if len(old) > 0 {
		expired, err := s.store.Expire(ctx, old, now)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.stats[m.Name].expired += len(expired)
		s.mu.Unlock()
	}

	var made []*match
	for _, mt := range formMatches(m, q, now) {
		if err := s.renewLease(ctx); err != nil {
			return made, err
		}
		rctx, cancel := context.WithTimeout(ctx, reserveTimeout)
		res, err := s.cfg.Rooms.ReserveGroup(rctx, mt.players(), room.Selector{Type: m.Name, Create: true, Private: true,
			Metadata: map[string]string{"teams": teamsJSON(mt)}})
		cancel()
		if err != nil {
			s.log.Warn("matchmaking: cannot seat a match; its tickets stay queued", "mode", m.Name, "players", len(mt.players()), "err", err)
			continue
		}
		mt.res = make(map[player.ID]room.Reservation, len(res))
		for _, r := range res {
			if r.WSURL == "" {
				r.WSURL = s.nodeWS // "" in a single node without a PublicURL: derived per request, as for quick match
			}
			mt.res[r.Player] = r
			mt.roomID = r.RoomID
		}
		commit := TicketMatch{Mode: m.Name, Tickets: make([]TicketResult, len(mt.tickets))}
		for i, t := range mt.tickets {
			tr := TicketResult{ID: t.id, Team: mt.teams[i], Window: mt.window}
			for _, p := range t.players {
				tr.Reservations = append(tr.Reservations, mt.res[p])
			}
			commit.Tickets[i] = tr
		}
		// The store checks the lease at the time of the commit, not of the
		// pass: seating may have taken long enough for it to lapse.
		stale, err := s.store.Commit(ctx, s.holder, commit, s.clock.Now())
		switch {
		case errors.Is(err, ErrTicketLeaseLost):
			return made, err
		case err != nil && !s.committedAnyway(ctx, mt):
			s.log.Warn("matchmaking: cannot commit a match; unless the store did, its tickets stay queued and its seats expire",
				"mode", m.Name, "err", err)
			continue
		case len(stale) > 0:
			s.log.Info("matchmaking: a match lost tickets before its commit; the others stay queued", "mode", m.Name, "stale", len(stale))
			continue
		}
		s.mu.Lock()
		st := s.stats[m.Name]
		for i, t := range mt.tickets {
			t.status, t.ended, t.window, t.team = statusMatched, now, mt.window, mt.teams[i]
			t.res = make(map[player.ID]room.Reservation, len(t.players))
			for _, p := range t.players {
				t.res[p] = mt.res[p]
			}
			st.addWait(now.Sub(t.created))
			st.playersMatched += len(t.players)
		}
		st.matches++
		st.spreadSum += mt.spread
		s.mu.Unlock()
		made = append(made, mt)
	}
	return made, nil
}

// committedAnyway reports whether a match whose Commit failed (its outcome
// unknown) was committed after all: its first ticket holds its seats.
func (s *Service) committedAnyway(ctx context.Context, mt *match) bool {
	t := mt.tickets[0]
	st, err := s.store.Get(ctx, t.id)
	if err != nil || st.Status != statusMatched {
		return false
	}
	p := t.players[0]
	return st.Reservations[p].SeatToken == mt.res[p].SeatToken
}

// renewLease renews the matcher lease during a long pass, once a third of
// its TTL has gone since it was last taken, so that a pass seating many
// matches keeps it. Only a pass calls it (passMu held).
func (s *Service) renewLease(ctx context.Context) error {
	now := s.clock.Now()
	if now.Sub(s.leadAt) < s.cfg.LeaseTTL/3 {
		return nil
	}
	lead, err := s.store.Lead(ctx, s.holder, now, s.cfg.LeaseTTL)
	switch {
	case err != nil:
		return err
	case !lead:
		return ErrTicketLeaseLost
	}
	s.leadAt = now
	return nil
}

// reserveTimeout bounds the seating of one match.
const reserveTimeout = 2 * time.Second

// teamsJSON is the room metadata "teams": a JSON array of each team's player IDs.
func teamsJSON(mt *match) string {
	teams := make([][]player.ID, mt.mode.Teams)
	for i, t := range mt.tickets {
		teams[mt.teams[i]] = append(teams[mt.teams[i]], t.players...)
	}
	b, _ := json.Marshal(teams)
	return string(b)
}

// formMatches decides the matches of one pass. queued is in arrival order.
//
// Each ticket, oldest first, is the anchor of a match attempt: its window
// w = Window.At(its wait) is the widest rating spread the match may have.
// Candidates are added in order of how little they widen the spread (a
// sweep outward from the anchor in rating order) while the spread stays
// within w, skipping tickets whose party does not fit on a team or whose
// region does not go with the match's. A group of MaxPlayers is a match;
// a smaller one (at least MinPlayers, every team non-empty) only if the
// mode allows partial matches and the anchor has waited MaxWait. Otherwise
// nobody is taken and the next anchor tries. The oldest ticket's window
// decides, so a long-waiting ticket is matched as soon as its window
// reaches others, even if their own windows are still narrow.
func formMatches(m *Mode, queued []*ticket, now time.Time) []*match {
	n := len(queued)
	byRating := make([]int, n)
	for i := range byRating {
		byRating[i] = i
	}
	slices.SortStableFunc(byRating, func(a, b int) int {
		switch ra, rb := queued[a].rating, queued[b].rating; {
		case ra < rb:
			return -1
		case ra > rb:
			return 1
		}
		return 0
	})
	pos := make([]int, n)
	for k, i := range byRating {
		pos[i] = k
	}
	taken := make([]bool, n)
	teamSize := m.teamSize()
	var out []*match
	var group []int
	var units []unit
	for a, anchor := range queued {
		if taken[a] {
			continue
		}
		wait := now.Sub(anchor.created)
		w := m.Window.At(wait)
		group = append(group[:0], a)
		units = append(units[:0], unit{size: len(anchor.players), rating: anchor.rating})
		players := len(anchor.players)
		lo, hi := anchor.rating, anchor.rating
		l, r := pos[a]-1, pos[a]+1
		for players < m.MaxPlayers {
			for l >= 0 && taken[byRating[l]] {
				l--
			}
			for r < n && taken[byRating[r]] {
				r++
			}
			costL, costR := math.Inf(1), math.Inf(1)
			if l >= 0 {
				costL = hi - min(lo, queued[byRating[l]].rating)
			}
			if r < n {
				costR = max(hi, queued[byRating[r]].rating) - lo
			}
			if min(costL, costR) > w {
				break // no one left within the window
			}
			var c int
			if costL <= costR {
				c, l = byRating[l], l-1
			} else {
				c, r = byRating[r], r+1
			}
			t := queued[c]
			if players+len(t.players) > m.MaxPlayers || !regionFits(m, t, queued, group, now) {
				continue
			}
			units = append(units, unit{size: len(t.players), rating: t.rating})
			if _, ok := assignTeams(units, m.Teams, teamSize); !ok {
				units = units[:len(units)-1]
				continue
			}
			group = append(group, c)
			players += len(t.players)
			lo, hi = min(lo, t.rating), max(hi, t.rating)
		}
		partial := players < m.MaxPlayers
		if partial && !(m.AllowPartial && wait >= m.MaxWait && players >= m.MinPlayers) {
			continue
		}
		teams, ok := assignTeams(units, m.Teams, teamSize)
		if !ok || !everyTeamUsed(teams, m.Teams) {
			continue
		}
		mt := &match{mode: m, teams: teams, window: w, spread: hi - lo, partial: partial}
		for _, i := range group {
			taken[i] = true
			mt.tickets = append(mt.tickets, queued[i])
		}
		out = append(out, mt)
	}
	return out
}

// regionFits reports whether t may join the tickets of group: two tickets
// go together if either has no region, their regions are equal, or both
// have waited RegionRelaxAfter (if it is not negative).
func regionFits(m *Mode, t *ticket, queued []*ticket, group []int, now time.Time) bool {
	relaxed := func(x *ticket) bool { return m.RegionRelaxAfter >= 0 && now.Sub(x.created) >= m.RegionRelaxAfter }
	for _, i := range group {
		g := queued[i]
		if t.region == "" || g.region == "" || t.region == g.region || (relaxed(t) && relaxed(g)) {
			continue
		}
		return false
	}
	return true
}

func everyTeamUsed(teams []int, n int) bool {
	used := make([]bool, n)
	for _, t := range teams {
		used[t] = true
	}
	return !slices.Contains(used, false)
}
