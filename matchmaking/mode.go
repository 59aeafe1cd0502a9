package matchmaking

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Mode configures the ticket queue of one room type. Zero fields take the
// documented defaults, except Name and MaxPlayers, which are required.
type Mode struct {
	// Name is the room type matches are played in (room.TypeConfig.Name).
	Name string
	// MaxPlayers is the number of players in a full match (required). The
	// room type's capacity must be at least this.
	MaxPlayers int
	// MinPlayers is the fewest players a partial match (AllowPartial) may
	// start with; default MaxPlayers. At least Teams.
	MinPlayers int
	// Teams splits a match into this many teams of MaxPlayers/Teams players
	// each; default 1. A party always plays on one team, so a party is at
	// most MaxPlayers/Teams players.
	Teams int
	// Window is the rating window: how far apart the ratings in one match
	// may be, widening with the time the oldest ticket has waited.
	Window Window
	// MaxWait is how long a ticket waits for a full match; after it, if
	// AllowPartial, its match starts with the players at hand (at least
	// MinPlayers, every team non-empty). Default 30s.
	MaxWait time.Duration
	// AllowPartial allows matches of fewer than MaxPlayers after MaxWait.
	AllowPartial bool
	// TicketTTL is how long a ticket stays queued before it expires; default
	// 2m. It must exceed MaxWait when AllowPartial is set.
	TicketTTL time.Duration
	// RegionRelaxAfter is how long a ticket keeps to its region. Tickets of
	// different regions share a match only if every one of them has waited
	// this long; a ticket without a region goes with any. Default MaxWait;
	// negative: regions are never mixed.
	RegionRelaxAfter time.Duration
	// DefaultRating is the rating of a ticket that gives none; default 1500.
	DefaultRating float64
}

// Window is a rating window: the widest rating spread (highest minus
// lowest ticket rating) a match may have, as a function of how long the
// match's oldest ticket has waited: min(Start + GrowthPerSecond·wait, Max).
// Set Max equal to Start for a window that never widens.
type Window struct {
	Start           float64 // default 100
	GrowthPerSecond float64 // default 25
	Max             float64 // default 1000; at least Start
}

// At returns the window after waiting for wait.
func (w Window) At(wait time.Duration) float64 {
	if wait < 0 {
		wait = 0
	}
	return math.Min(w.Start+w.GrowthPerSecond*wait.Seconds(), w.Max)
}

// withDefaults returns m with its defaults filled in, or why it is invalid.
func (m Mode) withDefaults() (Mode, error) {
	bad := func(format string, a ...any) (Mode, error) {
		return Mode{}, fmt.Errorf("matchmaking: mode %q: "+format, append([]any{m.Name}, a...)...)
	}
	if m.Name == "" {
		return Mode{}, errors.New("matchmaking: a Mode has no Name")
	}
	if m.MaxPlayers <= 0 {
		return bad("MaxPlayers must be positive")
	}
	if m.Teams == 0 {
		m.Teams = 1
	}
	if m.Teams < 0 || m.MaxPlayers%m.Teams != 0 {
		return bad("MaxPlayers (%d) must split evenly into Teams (%d)", m.MaxPlayers, m.Teams)
	}
	if m.MinPlayers == 0 {
		m.MinPlayers = m.MaxPlayers
	}
	if m.MinPlayers < m.Teams || m.MinPlayers > m.MaxPlayers {
		return bad("MinPlayers (%d) must be in [Teams, MaxPlayers] = [%d, %d]", m.MinPlayers, m.Teams, m.MaxPlayers)
	}
	if m.Window.Start == 0 {
		m.Window.Start = 100
	}
	if m.Window.GrowthPerSecond == 0 {
		m.Window.GrowthPerSecond = 25
	}
	if m.Window.Max == 0 {
		m.Window.Max = math.Max(1000, m.Window.Start)
	}
	switch {
	case m.Window.Start < 0 || m.Window.GrowthPerSecond < 0 || math.IsNaN(m.Window.Start+m.Window.GrowthPerSecond+m.Window.Max):
		return bad("Window fields must not be negative")
	case m.Window.Max < m.Window.Start:
		return bad("Window.Max (%g) is below Window.Start (%g)", m.Window.Max, m.Window.Start)
	}
	if m.MaxWait == 0 {
		m.MaxWait = 30 * time.Second
	}
	if m.TicketTTL == 0 {
		m.TicketTTL = 2 * time.Minute
	}
	if m.MaxWait < 0 || m.TicketTTL < 0 {
		return bad("MaxWait and TicketTTL must not be negative")
	}
	if m.AllowPartial && m.TicketTTL <= m.MaxWait {
		return bad("TicketTTL (%v) must exceed MaxWait (%v) when AllowPartial is set", m.TicketTTL, m.MaxWait)
	}
	if m.RegionRelaxAfter == 0 {
		m.RegionRelaxAfter = m.MaxWait
	}
	if m.DefaultRating == 0 {
		m.DefaultRating = 1500
	}
	return m, nil
}

// teamSize is the number of players per team in a full match.
func (m *Mode) teamSize() int { return m.MaxPlayers / m.Teams }
