package room_test

import (
	"net/http"

	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server"
)

// The README's Game API example, kept here so that it always compiles.

// Input is what a client sends each tick: `[dx, dy]`.
type Input struct {
	_      struct{} `msgpack:",as_array"`
	DX, DY int64
}

type dot struct {
	id   uint32
	x, y int64
}

// Dots: every player is a dot that moves by its inputs.
type Dots struct {
	next uint32
	dots map[*room.Seat]*dot
}

var schema, _ = netcode.NewSchema(netcode.Kind{Name: "dot", Fields: []netcode.Field{
	{Name: "x", Type: netcode.FieldInt}, {Name: "y", Type: netcode.FieldInt}}})

func (g *Dots) Join(r *room.Ctx, s *room.Seat) error {
	g.next++
	g.dots[s] = &dot{id: g.next}
	return nil
}
func (g *Dots) Leave(r *room.Ctx, s *room.Seat, _ room.LeaveReason) { delete(g.dots, s) }
func (g *Dots) Input(r *room.Ctx, s *room.Seat, in Input) {
	d := g.dots[s]
	d.x += max(-1, min(1, in.DX)) // never trust the client: clamp
	d.y += max(-1, min(1, in.DY))
}
func (g *Dots) Tick(r *room.Ctx) {}
func (g *Dots) Sync(w *netcode.StateWriter) {
	for _, d := range g.dots {
		w.Entity(d.id, 0).Int(d.x).Int(d.y)
	}
}

func Example_game() {
	dots := room.MustDefine(room.TypeConfig{Name: "dots", Schema: schema, Capacity: 8},
		func(*room.Ctx) room.Game[Input] { return &Dots{dots: map[*room.Seat]*dot{}} })
	rooms, _ := room.NewManager(room.Config{Types: []*room.Type{dots}})
	defer rooms.Close()
	tokens, _ := player.NewTokens(player.TokenConfig{Secret: player.RandomSecret()})
	srv, _ := server.New(server.Config{Tokens: tokens, Rooms: rooms, GuestAuth: true})
	_ = http.ListenAndServe // http.ListenAndServe("127.0.0.1:8080", srv.Handler())
	_ = srv
}
