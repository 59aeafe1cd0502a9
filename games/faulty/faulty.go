// Package faulty is a test game whose code fails on demand: an input can
// make it panic (in Input, or in the next Tick) or make its ticks slow. It
// exists to test what the server does with broken game code (room.Game's
// contract: a panic closes only its room, players told `crashed`; sustained
// overruns close it as `overloaded`). Do not serve it to players.
package faulty

import (
	"time"

	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/room"
)

// Input is one command, sent as a msgpack integer.
type Input int64

// Commands. Any other input adds itself to the sender's counter.
const (
	PanicInInput Input = -1 // panic in Game.Input
	PanicInTick  Input = -2 // panic in the next Game.Tick
	SlowTicks    Input = -3 // from now on every Tick sleeps Options.Slow
)

// Schema: one entity per seat with the sum of its inputs.
var Schema = func() *netcode.Schema {
	s, err := netcode.NewSchema(netcode.Kind{Name: "p", Fields: []netcode.Field{{Name: "v", Type: netcode.FieldInt}}})
	if err != nil {
		panic(err)
	}
	return s
}()

// Options configure the room type.
type Options struct {
	Name     string // default "faulty"
	Capacity int    // default 2
	TickRate int    // default 20
	// Slow is how long each tick sleeps after SlowTicks; default 3 ticks.
	Slow time.Duration
	// Overload is the type's overload policy (room.TypeConfig.Overload).
	Overload room.OverloadPolicy
}

// Type returns the room type.
func Type(o Options) (*room.Type, error) {
	if o.Name == "" {
		o.Name = "faulty"
	}
	if o.Capacity == 0 {
		o.Capacity = 2
	}
	if o.TickRate == 0 {
		o.TickRate = 20
	}
	if o.Slow == 0 {
		o.Slow = 3 * time.Second / time.Duration(o.TickRate)
	}
	slow := o.Slow
	return room.Define(room.TypeConfig{Name: o.Name, Schema: Schema, Capacity: o.Capacity, TickRate: o.TickRate,
		Overload: o.Overload},
		func(r *room.Ctx) room.Game[Input] {
			return &game{slow: slow, ids: map[*room.Seat]uint32{}, vals: map[*room.Seat]int64{}}
		})
}

type game struct {
	slow      time.Duration
	ids       map[*room.Seat]uint32
	vals      map[*room.Seat]int64
	next      uint32
	panicTick bool
	slowTicks bool
}

func (g *game) Join(r *room.Ctx, s *room.Seat) error {
	g.next++
	g.ids[s] = g.next
	return nil
}

func (g *game) Leave(r *room.Ctx, s *room.Seat, reason room.LeaveReason) {
	delete(g.ids, s)
	delete(g.vals, s)
}

func (g *game) Input(r *room.Ctx, s *room.Seat, in Input) {
	switch in {
	case PanicInInput:
		panic("faulty: panic in Input, as asked")
	case PanicInTick:
		g.panicTick = true
	case SlowTicks:
		g.slowTicks = true
	default:
		g.vals[s] += int64(in)
	}
}

func (g *game) Tick(r *room.Ctx) {
	if g.panicTick {
		panic("faulty: panic in Tick, as asked")
	}
	if g.slowTicks {
		time.Sleep(g.slow)
	}
}

func (g *game) Sync(w *netcode.StateWriter) {
	for s, id := range g.ids {
		w.Entity(id, 0).Int(g.vals[s])
	}
}
