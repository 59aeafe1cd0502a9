package matchmaking

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// TicketStore keeps the tickets of the ticket queues: what the nodes of a
// cluster must agree on. NewMemoryTicketStore is the store of a single
// process; cluster.NewTicketStore keeps the tickets in Redis, so that a
// ticket created on one node is matched with one created on another and
// read or cancelled on any.
//
// The matching itself (rating windows, parties, teams, regions) is the
// Service's: each pass reads the queued tickets of a mode, decides, seats
// a match, and Commits it. The store makes every decision that several
// nodes could race on atomic: one live ticket per (player, mode), cancel
// only while queued, a match committed only if all its tickets are still
// queued, and one matcher lease.
//
// Every time (now, endedBefore) is the caller's, from its injected clock;
// stores never read a clock and never depend on a key TTL for correctness.
// They may keep times to the millisecond only.
// Methods are safe for concurrent use, honour ctx's deadline, and answer
// errors wrapping ErrUnavailable when the store cannot be reached. They
// never return a Ticket that shares memory with the store.
type TicketStore interface {
	// Create stores t as queued, unless a player of t already has a queued
	// ticket in t.Mode: then it returns a *TicketExistsError and stores
	// nothing. It assigns t.Seq (arrival order, increasing per store) and
	// returns the ticket stored. t.ID is new (the caller makes it random).
	Create(ctx context.Context, t Ticket) (Ticket, error)
	// Get returns a ticket, or ErrTicketNotFound (unknown, or forgotten).
	Get(ctx context.Context, id string) (Ticket, error)
	// Cancel ends a queued ticket as cancelled at now and returns it with
	// cancelled true; an ended ticket is returned unchanged, cancelled
	// false. ErrTicketNotFound as Get.
	Cancel(ctx context.Context, id string, now time.Time) (t Ticket, cancelled bool, err error)
	// Queued returns the queued tickets of a mode in arrival order.
	Queued(ctx context.Context, mode string) ([]Ticket, error)
	// Expire ends as expired, at now, those of the tickets ids that are
	// still queued, and returns their IDs.
	Expire(ctx context.Context, ids []string, now time.Time) ([]string, error)
	// Commit records a match, atomically: if holder holds the matcher lease
	// at now and every ticket of m is still queued, each becomes matched at
	// now with its team, window and members' reservations; otherwise
	// nothing changes. stale lists the tickets that were no longer queued
	// (nil when the match was committed); a holder without the lease gets
	// ErrTicketLeaseLost. Any other error leaves the outcome unknown (a
	// deadline may pass after the store committed): the caller must not
	// assume either, and players learn the outcome from the ticket.
	Commit(ctx context.Context, holder string, m TicketMatch, now time.Time) (stale []string, err error)
	// Forget deletes the tickets that ended before endedBefore (retention).
	Forget(ctx context.Context, endedBefore time.Time) error
	// Lead takes the matcher lease for holder, or renews it, until
	// now+ttl, and reports whether holder holds it: it is free, expired
	// (its deadline is not after now) or already holder's. One lease
	// covers every mode of the store.
	Lead(ctx context.Context, holder string, now time.Time, ttl time.Duration) (bool, error)
	// Resign gives up the lease if holder holds it, so that another
	// matcher may take it at once.
	Resign(ctx context.Context, holder string) error
}

// Ticket is a ticket as stored: a player, or a party that plays on one
// team, queued in a mode.
type Ticket struct {
	ID      string
	Mode    string
	Players []player.ID // the owner first
	Rating  float64
	Region  string
	Created time.Time
	Seq     uint64 // arrival order, assigned by Create

	Status string    // queued, matched, expired or cancelled
	Ended  time.Time // when it stopped being queued
	Window float64   // matched: the match's window
	Team   int       // matched: the ticket's team
	// Reservations (matched) are the members' seats, one per player.
	Reservations map[player.ID]room.Reservation
}

// TicketMatch is a match to Commit.
type TicketMatch struct {
	Mode    string
	Tickets []TicketResult
}

// TicketResult is one ticket of a match to Commit.
type TicketResult struct {
	ID           string
	Team         int
	Window       float64
	Reservations []room.Reservation // one per member of the ticket
}

// Errors of ticket stores.
var (
	// ErrTicketNotFound: no such ticket (or it ended longer ago than the
	// retention).
	ErrTicketNotFound = errors.New("matchmaking: no such ticket")
	// ErrTicketLeaseLost: the matcher does not hold the matcher lease (any
	// more); another node's matcher decides.
	ErrTicketLeaseLost = errors.New("matchmaking: the matcher lease is held by another matcher")
	// ErrUnavailable: the ticket store cannot be reached; the request may
	// be retried later (HTTP 503 unavailable).
	ErrUnavailable = errors.New("matchmaking: ticket store unavailable")
)

// TicketExistsError: a player already has a queued ticket in the mode.
type TicketExistsError struct {
	Player player.ID
	Mode   string
}

func (e *TicketExistsError) Error() string {
	return fmt.Sprintf("matchmaking: player %s already has a queued ticket in mode %s", e.Player, e.Mode)
}
