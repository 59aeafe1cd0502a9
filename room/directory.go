package room

import (
	"context"
	"errors"
	"time"

	"github.com/tickroom/tickroom/player"
)

// Directory places rooms and counts their seats: which rooms exist, on
// which node, how many seats each has taken or reserved, which are locked,
// private (with a join code) or carry metadata, and which resume token
// belongs to a seat on which node. The Manager runs the rooms this node
// owns; the Directory is the single authority on seat counts, so that
// concurrent joins and reservations never overfill a room nor open a second
// room while one has a free seat.
//
// NewMemoryDirectory is the directory of a single process (tests of this
// package); cluster.Directory keeps it in Redis so that several nodes share
// it (docs/SCALING.md).
//
// Methods that take a ctx are called on a connection's or an HTTP
// handler's goroutine and may wait on I/O; they honour ctx's deadline and
// answer ErrUnavailable when the store cannot be reached. The other methods
// are called by the owning node, some on a room goroutine: they never
// block, and a failure is logged and counted by the implementation (the
// owner re-asserts its rooms when the store comes back). All methods are
// safe for concurrent use.
type Directory interface {
	// Reserve counts one seat per player, all in the room sel picks, and
	// holds them until ttl passes or Consume takes them. sel.RoomID or
	// sel.Code: that room, on any node. Otherwise (join-or-create) an open
	// room of type sel.Type whose metadata has all of sel.Filters, on any
	// live node, or — when none has len(players) free seats, or sel.Create
	// is set — a new room of that type (capacity seats, sel.Private,
	// metadata sel.Metadata, default sel.Filters) on the least-loaded live
	// node. tokens[i] is the seat token of players[i] (made by the caller).
	// Errors: ErrRoomNotFound, ErrRoomLocked, ErrRoomFull, ErrUnavailable.
	Reserve(ctx context.Context, sel Selector, capacity int, players []player.ID, tokens []string, ttl time.Duration) (Placement, time.Time, error)

	// Take counts one seat for a join without a reservation: by sel.RoomID
	// or sel.Code that room (on any node: a room of another node comes back
	// with Local false and nothing counted); by sel.Type an open public room
	// of this node (sel.Filters ignored), or a new one on this node.
	// Errors as Reserve.
	Take(ctx context.Context, sel Selector, capacity int) (Placement, error)

	// Consume takes the reservation of token for player p; the seat stays
	// counted and the join that follows fills it. A reservation of another
	// node's room is left in place and its Placement returned with Local
	// false, for the caller to redirect the client. Errors: ErrSeatInvalid
	// (unknown, used, or another player's: it stays valid for its owner),
	// ErrSeatExpired, ErrRoomNotFound, ErrUnavailable.
	Consume(ctx context.Context, token string, p player.ID) (Placement, error)

	// Release gives back one counted seat of a room this node owns (a seat
	// was given up, or a join failed). Never blocks.
	Release(roomID string)
	// SetLocked and SetMetadata record the game's changes of a room this
	// node owns. Never block.
	SetLocked(roomID string, locked bool)
	SetMetadata(roomID string, meta map[string]string)
	// Dispose removes a room this node owns if no seat or live reservation
	// counts in it, then calls done(true); otherwise done(false), and the
	// room stays. done may run on another goroutine, later; it must not
	// block. Never blocks.
	Dispose(roomID string, done func(disposed bool))
	// Remove removes a room this node owns unconditionally (it is
	// closing). Never blocks.
	Remove(roomID string)

	// PutToken records that the seat whose current resume token hashes to
	// key is in roomID on this node; DropToken forgets it. Never block.
	PutToken(key, roomID string)
	DropToken(key string)
	// FindToken says where the seat of a resume token that this node does
	// not hold lives: found is false if no node recorded it; otherwise
	// wsURL is the owning node's WebSocket URL, or err is ErrRoomGone if
	// that node is no longer alive.
	FindToken(ctx context.Context, key string) (wsURL string, found bool, err error)

	// List returns the rooms of type typ ("" for every type), public and
	// private, of every live node, sorted by ID.
	List(ctx context.Context, typ string) ([]RoomInfo, error)
}

// Placement is where a seat was counted.
type Placement struct {
	RoomID   string
	Type     string
	Private  bool
	Code     string            // join code of a private room
	Metadata map[string]string // as the directory knows it
	// Local reports whether this node owns the room; otherwise WSURL is
	// the owning node's WebSocket URL (where the client must go).
	Local bool
	Node  string // the owning node's ID ("" in a single-process directory)
	WSURL string
}

// Errors of the directory.
var (
	// ErrUnavailable: the shared store cannot be reached; the request may
	// be retried later (HTTP 503, wire `unavailable`).
	ErrUnavailable = errors.New("room: directory unavailable")
	// ErrRoomGone: the node that ran the seat's room is no longer alive;
	// the player must join again (wire `room_gone`).
	ErrRoomGone = errors.New("room: the node running that room is gone")
)

// RedirectError says the request must be made to another node.
type RedirectError struct {
	WSURL string // the owning node's WebSocket URL
}

func (e *RedirectError) Error() string { return "room: the room is on another node: " + e.WSURL }

// OwnedRoom is a room this node runs, as the Manager knows it: what a
// directory re-asserts after its store lost it (a Redis restart, an outage
// longer than the node's lease).
type OwnedRoom struct {
	ID       string
	Type     string
	Capacity int
	Seats    int // seats taken plus joins on their way (reservations are the directory's)
	Locked   bool
	Private  bool
	Code     string
	Metadata map[string]string
	Tokens   []string // keys of the seats' current resume tokens (PutToken)
}
