// Package arena is tickroom's demo game: players move around a 1000×1000
// arena and collect pickups for score. Its players-only mode is the
// benchmark workload (the same as ../shared/peers/colyseus).
//
// It is also the reference for writing a game against room.Game: typed
// inputs, state in plain Go structs, and a Sync method that writes it out.
package arena

import (
	"fmt"
	"math"
	"time"

	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/room"
	"github.com/vmihailenco/msgpack/v5"
)

// Arena geometry and rules.
const (
	Size         = 1000 // the arena is Size×Size units
	Speed        = 5    // units per tick at full input
	StartHP      = 100
	MaxPickups   = 5
	PickupRadius = 20
	respawnTicks = 40 // a collected pickup comes back after 2 s at 20 Hz
)

// Entity kinds, as indexes into Schema.
const (
	KindPlayer uint8 = 0
	KindPickup uint8 = 1
)

// Field indexes of the player kind.
const (
	FieldID = iota
	FieldName
	FieldX
	FieldY
	FieldHP
	FieldScore
)

// Schema is the arena's state model.
var Schema = mustSchema(
	netcode.Kind{Name: "player", Fields: []netcode.Field{
		{Name: "id", Type: netcode.FieldString},
		{Name: "name", Type: netcode.FieldString},
		{Name: "x", Type: netcode.FieldInt},
		{Name: "y", Type: netcode.FieldInt},
		{Name: "hp", Type: netcode.FieldInt},
		{Name: "score", Type: netcode.FieldInt},
	}},
	netcode.Kind{Name: "pickup", Fields: []netcode.Field{
		{Name: "x", Type: netcode.FieldInt},
		{Name: "y", Type: netcode.FieldInt},
		{Name: "value", Type: netcode.FieldInt},
	}},
)

func mustSchema(kinds ...netcode.Kind) *netcode.Schema {
	s, err := netcode.NewSchema(kinds...)
	if err != nil {
		panic(err)
	}
	return s
}

// Input is a player's movement intent, sent as `[dx, dy]`. A vector longer
// than 1 is scaled down to 1; NaN or infinite components are ignored.
type Input struct {
	DX float64
	DY float64
}

// DecodeMsgpack reads `[dx, dy]` (any msgpack numbers). Writing it by hand
// rather than relying on reflection makes an input cost ~3× less to queue
// and allocate nothing; any game may do the same for its hot inputs.
func (in *Input) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeArrayLen()
	if err != nil {
		return err
	}
	if n != 2 {
		return fmt.Errorf("arena: input must be [dx, dy], got %d elements", n)
	}
	if in.DX, err = dec.DecodeFloat64(); err != nil {
		return err
	}
	in.DY, err = dec.DecodeFloat64()
	return err
}

// EncodeMsgpack writes `[dx, dy]`.
func (in *Input) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := enc.EncodeArrayLen(2); err != nil {
		return err
	}
	if err := enc.EncodeFloat64(in.DX); err != nil {
		return err
	}
	return enc.EncodeFloat64(in.DY)
}

// Options configure a room type.
type Options struct {
	Name     string        // room type name; default "arena", or "arena-players" without pickups
	Capacity int           // players per room; default 10
	TickRate int           // Hz; default 20
	Pickups  bool          // spawn pickups (off: the players-only benchmark mode)
	Grace    time.Duration // seat hold after a drop; default 20s (room.TypeConfig.Grace)
}

// Type returns a room type running the arena game.
func Type(o Options) (*room.Type, error) {
	if o.Name == "" {
		o.Name = "arena"
		if !o.Pickups {
			o.Name = "arena-players"
		}
	}
	pickups := o.Pickups
	return room.Define(room.TypeConfig{
		Name:     o.Name,
		Schema:   Schema,
		Capacity: o.Capacity,
		TickRate: o.TickRate,
		Grace:    o.Grace,
	}, func(r *room.Ctx) room.Game[Input] { return New(pickups) })
}

// Game is one arena room's state.
type Game struct {
	pickups bool
	players map[*room.Seat]*Player
	items   []*Pickup
	nextID  uint32
	respawn []uint64 // ticks at which a collected pickup comes back
}

// Player is a seated player's avatar.
type Player struct {
	Entity uint32
	ID     string
	Name   string
	X, Y   float64
	DX, DY float64 // latest input
	HP     int
	Score  int
	// Frozen: the player's connection dropped; inputs still queued from
	// before the drop are ignored until the player resumes.
	Frozen bool
}

// Pickup is a collectible worth Value points.
type Pickup struct {
	Entity uint32
	X, Y   int
	Value  int
}

// New returns an empty arena; pickups turns collectibles on.
func New(pickups bool) *Game {
	return &Game{pickups: pickups, players: map[*room.Seat]*Player{}, nextID: 1}
}

// Join spawns the player at a random position.
func (g *Game) Join(r *room.Ctx, s *room.Seat) error {
	g.players[s] = &Player{
		Entity: g.newID(),
		ID:     string(s.Player),
		Name:   s.Name,
		X:      float64(r.Rand().IntN(Size + 1)),
		Y:      float64(r.Rand().IntN(Size + 1)),
		HP:     StartHP,
	}
	if g.pickups && len(g.items) == 0 && len(g.respawn) == 0 {
		for range MaxPickups {
			g.spawnPickup(r)
		}
	}
	return nil
}

// Leave removes the player's avatar.
func (g *Game) Leave(r *room.Ctx, s *room.Seat, reason room.LeaveReason) {
	delete(g.players, s)
}

// Disconnected freezes the avatar of a player whose connection dropped
// (it keeps its seat for the grace window).
func (g *Game) Disconnected(r *room.Ctx, s *room.Seat) {
	if p := g.players[s]; p != nil {
		p.DX, p.DY, p.Frozen = 0, 0, true
	}
}

// Reconnected is called when the player resumed; the avatar moves again
// with its next input.
func (g *Game) Reconnected(r *room.Ctx, s *room.Seat) {
	if p := g.players[s]; p != nil {
		p.Frozen = false
	}
}

// Input records the player's latest direction.
func (g *Game) Input(r *room.Ctx, s *room.Seat, in Input) {
	p := g.players[s]
	if p == nil || p.Frozen || math.IsNaN(in.DX) || math.IsNaN(in.DY) || math.IsInf(in.DX, 0) || math.IsInf(in.DY, 0) {
		return
	}
	if l := math.Hypot(in.DX, in.DY); l > 1 {
		in.DX, in.DY = in.DX/l, in.DY/l
	}
	p.DX, p.DY = in.DX, in.DY
}

// Tick moves every player and resolves pickups.
func (g *Game) Tick(r *room.Ctx) {
	for _, p := range g.players {
		p.X = clamp(p.X+p.DX*Speed, 0, Size)
		p.Y = clamp(p.Y+p.DY*Speed, 0, Size)
	}
	if !g.pickups {
		return
	}
	for _, s := range r.Seats() { // join order: who collects first is reproducible
		p := g.players[s]
		if p == nil {
			continue
		}
		for i := 0; i < len(g.items); i++ {
			it := g.items[i]
			if math.Hypot(p.X-float64(it.X), p.Y-float64(it.Y)) > PickupRadius {
				continue
			}
			p.Score += it.Value
			_ = r.Broadcast("pickup", map[string]any{"player": string(s.Player), "value": it.Value})
			g.items = append(g.items[:i], g.items[i+1:]...)
			g.respawn = append(g.respawn, r.Tick()+respawnTicks)
			i--
		}
	}
	for i := 0; i < len(g.respawn); i++ {
		if r.Tick() >= g.respawn[i] {
			g.respawn = append(g.respawn[:i], g.respawn[i+1:]...)
			g.spawnPickup(r)
			i--
		}
	}
}

// Sync writes players and pickups. Positions are sent as whole units.
func (g *Game) Sync(w *netcode.StateWriter) {
	for _, p := range g.players {
		w.Entity(p.Entity, KindPlayer).
			String(p.ID).String(p.Name).
			Int(int64(math.Round(p.X))).Int(int64(math.Round(p.Y))).
			Int(int64(p.HP)).Int(int64(p.Score))
	}
	for _, it := range g.items {
		w.Entity(it.Entity, KindPickup).Int(int64(it.X)).Int(int64(it.Y)).Int(int64(it.Value))
	}
}

func (g *Game) spawnPickup(r *room.Ctx) {
	g.items = append(g.items, &Pickup{
		Entity: g.newID(),
		X:      r.Rand().IntN(Size + 1),
		Y:      r.Rand().IntN(Size + 1),
		Value:  1 + r.Rand().IntN(5),
	})
}

func (g *Game) newID() uint32 {
	id := g.nextID
	g.nextID++
	return id
}

func clamp(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }
