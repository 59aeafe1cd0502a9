package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"sort"
	"time"

	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// directory is room.Directory over Redis; it is a Node seen through the
// room package's contract (Node.Directory).
type directory Node

var _ room.Directory = (*directory)(nil)

// tombstone is how long an expired seat token answers ErrSeatExpired.
const tombstone = 5 * time.Minute

// codeAlphabet is room's join-code alphabet (no look-alikes).
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// newRoomID has the format of room.newRoomID: "r" + 15 base32hex chars.
func newRoomID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "r" + base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])[:15]
}

// newCodes returns candidate join codes; the script takes the first free one.
func newCodes(k int) []any {
	out := make([]any, k)
	for i := range out {
		var b [6]byte
		_, _ = rand.Read(b[:])
		for j := range b {
			b[j] = codeAlphabet[int(b[j])%len(codeAlphabet)]
		}
		out[i] = string(b[:])
	}
	return out
}

// seatKey is the hex SHA-256 of a seat token: Redis never holds tokens.
func seatKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func (d *directory) node() *Node { return (*Node)(d) }

// Reserve implements room.Directory: one script picks (or creates) the
// room and counts every seat, so concurrent callers on any node never
// overfill a room nor open a second one while one has room.
//
// A room created on this node is live at once (Placement.Local): the
// caller starts it. A room created for another node is pending until that
// node Consumes or Takes a seat in it (and then starts it with that ID);
// if every reservation in it expires first, it disappears.
//
// A call that times out may still have run in Redis: its reservations
// then expire unused after ttl.
func (d *directory) Reserve(ctx context.Context, sel room.Selector, capacity int, players []player.ID, tokens []string, ttl time.Duration) (room.Placement, time.Time, error) {
	n := d.node()
	if len(players) == 0 || len(players) != len(tokens) {
		return room.Placement{}, time.Time{}, errors.New("cluster: Reserve needs one token per player, at least one")
	}
	now := n.clock.Now()
	exp := now.Add(ttl)
	private := sel.Create && sel.Private
	meta := sel.Metadata
	if meta == nil {
		meta = sel.Filters
	}
	var codes []any
	if private {
		codes = newCodes(8)
	}
	args := []any{n.prefix, now.UnixMilli(), n.id, n.epoch, sel.Type, sel.RoomID, sel.Code, b01(sel.Create), b01(private),
		metaJSON(sel.Filters), metaJSON(meta), capacity, len(players), exp.UnixMilli(), (ttl + tombstone + time.Minute).Milliseconds(),
		newRoomID(), len(codes)}
	args = append(args, codes...)
	for _, t := range tokens {
		args = append(args, seatKey(t))
	}
	for _, p := range players {
		args = append(args, string(p))
	}
	ctx, cancel := n.opCtx(ctx)
	defer cancel()
	res, err := scrReserve.Run(ctx, n.rdb, nil, args...).Slice()
	if err != nil {
		return room.Placement{}, time.Time{}, n.unavailable("reserve", err)
	}
	p, err := n.placement(res)
	if err != nil {
		return room.Placement{}, time.Time{}, err
	}
	return p, exp, nil
}

// Take implements room.Directory.
func (d *directory) Take(ctx context.Context, sel room.Selector, capacity int) (room.Placement, error) {
	n := d.node()
	private := sel.Create && sel.Private
	meta := sel.Metadata
	if meta == nil {
		meta = sel.Filters
	}
	var codes []any
	if private {
		codes = newCodes(8)
	}
	args := n.args(n.id, n.epoch, sel.Type, sel.RoomID, sel.Code, b01(sel.Create), b01(private), metaJSON(meta),
		capacity, newRoomID(), len(codes))
	args = append(args, codes...)
	ctx, cancel := n.opCtx(ctx)
	defer cancel()
	res, err := scrTake.Run(ctx, n.rdb, nil, args...).Slice()
	if err != nil {
		n.dirty.Store(true) // it may have run: re-assert the true seat counts
		return room.Placement{}, n.unavailable("take", err)
	}
	return n.placement(res)
}

// Consume implements room.Directory.
func (d *directory) Consume(ctx context.Context, token string, p player.ID) (room.Placement, error) {
	n := d.node()
	ctx, cancel := n.opCtx(ctx)
	defer cancel()
	res, err := scrConsume.Run(ctx, n.rdb, nil, n.args(n.id, n.epoch, seatKey(token), string(p), tombstone.Milliseconds())...).Slice()
	if err != nil {
		n.dirty.Store(true) // it may have run: re-assert the true seat counts
		return room.Placement{}, n.unavailable("consume", err)
	}
	return n.placement(res)
}

// Release implements room.Directory. Never blocks (queued).
func (d *directory) Release(roomID string) { d.node().enqueue(op{kind: "release", id: roomID}) }

// SetLocked implements room.Directory. Never blocks (queued).
func (d *directory) SetLocked(roomID string, locked bool) {
	d.node().enqueue(op{kind: "lock", id: roomID, arg: b01(locked)})
}

// SetMetadata implements room.Directory. Never blocks (queued).
func (d *directory) SetMetadata(roomID string, meta map[string]string) {
	d.node().enqueue(op{kind: "meta", id: roomID, arg: metaJSON(meta)})
}

// Dispose implements room.Directory. Never blocks (queued); done runs on
// the writer goroutine, or on the caller's if the queue is full.
// done(true) when the script removed the room, or no record of this node
// names it any more.
func (d *directory) Dispose(roomID string, done func(disposed bool)) {
	if done == nil {
		done = func(bool) {}
	}
	d.node().enqueue(op{kind: "dispose", id: roomID, done: done})
}

// Remove implements room.Directory. Never blocks (queued).
func (d *directory) Remove(roomID string) { d.node().enqueue(op{kind: "remove", id: roomID}) }

// PutToken implements room.Directory. Never blocks (queued).
func (d *directory) PutToken(key, roomID string) {
	d.node().enqueue(op{kind: "puttok", id: key, arg: roomID})
}

// DropToken implements room.Directory. Never blocks (queued).
func (d *directory) DropToken(key string) { d.node().enqueue(op{kind: "droptok", id: key}) }

// FindToken implements room.Directory.
func (d *directory) FindToken(ctx context.Context, key string) (string, bool, error) {
	n := d.node()
	ctx, cancel := n.opCtx(ctx)
	defer cancel()
	res, err := scrFindToken.Run(ctx, n.rdb, nil, n.args(key)...).Slice()
	if err != nil {
		return "", false, n.unavailable("findtoken", err)
	}
	switch num(res[0]) {
	case 1:
		return str(res[1]), true, nil
	case 2:
		return "", true, room.ErrRoomGone
	}
	return "", false, nil
}

// List implements room.Directory: rooms of live nodes only, Players =
// seats + live reservations, sorted by ID.
func (d *directory) List(ctx context.Context, typ string) ([]room.RoomInfo, error) {
	n := d.node()
	ctx, cancel := n.opCtx(ctx)
	defer cancel()
	res, err := scrList.Run(ctx, n.rdb, nil, n.args(typ)...).Slice()
	if err != nil {
		return nil, n.unavailable("list", err)
	}
	const w = 11
	out := make([]room.RoomInfo, 0, len(res)/w)
	for i := 0; i+w <= len(res); i += w {
		out = append(out, room.RoomInfo{ID: str(res[i]), Type: str(res[i+1]), Players: int(num(res[i+2])),
			Capacity: int(num(res[i+3])), Locked: str(res[i+4]) == "1", Private: str(res[i+5]) == "1",
			Code: str(res[i+6]), Metadata: parseMeta(str(res[i+7])), Node: str(res[i+8]), WSURL: str(res[i+9]),
			Draining: str(res[i+10]) == "1"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
