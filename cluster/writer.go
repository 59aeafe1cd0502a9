package cluster

import (
	"sort"

	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// op is an owner-side write queued by a non-blocking method.
type op struct {
	kind string // own.lua op name
	id   string // room ID, token key or player ID
	arg  string
	done func(bool) // Dispose only
}

// enqueue queues o for the writer. Never blocks: on a full queue (or
// after Close) the op is dropped and counted, a Dispose answers
// done(false) on the caller's goroutine, and the node is marked dirty so
// the next successful renewal re-asserts its state.
func (n *Node) enqueue(o op) {
	n.qmu.RLock()
	ok := false
	if !n.closed {
		select {
		case n.ops <- o:
			ok = true
		default:
		}
	}
	n.qmu.RUnlock()
	if !ok {
		n.stats.opsDropped.Add(1)
		n.dirty.Store(true)
		if o.done != nil {
			o.done(false)
		}
	}
}

// drainOps fails the ops left after the writer stopped.
func (n *Node) drainOps() {
	for {
		select {
		case o := <-n.ops:
			n.stats.opsDropped.Add(1)
			if o.done != nil {
				o.done(false)
			}
		default:
			return
		}
	}
}

// requestReassert asks the writer to re-assert everything. Never blocks.
func (n *Node) requestReassert() {
	select {
	case n.reassertc <- struct{}{}:
	default:
	}
}

// writeLoop applies queued owner writes in order, one script each, and
// re-assertions between them, so a re-assertion never overtakes a write
// queued before it. Runs on its own goroutine.
func (n *Node) writeLoop() {
	for {
		select {
		case <-n.ctx.Done():
			return
		case o := <-n.ops:
			n.apply(o)
		case <-n.reassertc:
			n.reassert()
		}
	}
}

// apply runs one owner write with the node's owner tuple.
func (n *Node) apply(o op) {
	ctx, cancel := n.opCtx(n.ctx)
	defer cancel()
	res, err := scrOwn.Run(ctx, n.rdb, nil, n.args(n.id, n.epoch, o.kind, o.id, o.arg)...).Int64()
	if err != nil {
		if n.ctx.Err() == nil {
			n.stats.redisErrors.Add(1)
			n.dirty.Store(true)
			n.log.Debug("cluster: owner write failed", "op", o.kind, "id", o.id, "err", err)
		}
		if o.done != nil {
			o.done(false)
		}
		return
	}
	switch res {
	case 0:
		if o.kind != "dispose" {
			n.stats.opsRefused.Add(1)
			n.log.Warn("cluster: owner write refused: another owner holds the record", "op", o.kind, "id", o.id)
		}
	default:
		n.stats.opsApplied.Add(1)
	}
	if o.done != nil {
		o.done(res != 0) // 1 removed; 2 no record of ours left
	}
}

// reassert writes this node's rooms (cfg.Owned), their resume tokens and
// its online players (cfg.Online) back into Redis: after the lease was
// lost, a failed write, or a resubscription. A room another live node now
// owns is refused and logged. Runs on the writer goroutine.
func (n *Node) reassert() {
	var rooms []room.OwnedRoom
	if n.cfg.Owned != nil {
		rooms = n.cfg.Owned()
	}
	var online []player.ID
	if n.cfg.Online != nil {
		online = n.cfg.Online()
	}
	fail := func(err error) {
		if n.ctx.Err() == nil {
			n.stats.redisErrors.Add(1)
			n.dirty.Store(true)
			n.log.Debug("cluster: re-assertion failed", "err", err)
		}
	}
	for _, r := range rooms {
		ctx, cancel := n.opCtx(n.ctx)
		res, err := scrAssert.Run(ctx, n.rdb, nil, n.args(n.id, n.epoch, r.ID, r.Type, r.Capacity, r.Seats,
			b01(r.Locked), b01(r.Private), r.Code, metaJSON(r.Metadata))...).Slice()
		cancel()
		if err != nil {
			fail(err)
			return
		}
		if len(res) > 1 && str(res[0]) == "taken" {
			n.log.Error("cluster: cannot re-assert a room: another live node owns it", "room", r.ID, "owner", str(res[1]))
			continue
		}
		for _, k := range r.Tokens {
			if !n.applyNow("puttok", k, r.ID, fail) {
				return
			}
		}
	}
	for _, p := range online {
		if !n.applyNow("online", string(p), "", fail) {
			return
		}
	}
	n.stats.reassertions.Add(1)
	n.log.Info("cluster: re-asserted rooms, tokens and presence", "rooms", len(rooms), "online", len(online))
}

func (n *Node) applyNow(kind, id, arg string, fail func(error)) bool {
	ctx, cancel := n.opCtx(n.ctx)
	defer cancel()
	if err := scrOwn.Run(ctx, n.rdb, nil, n.args(n.id, n.epoch, kind, id, arg)...).Err(); err != nil {
		fail(err)
		return false
	}
	return true
}

func sortNodes(ns []NodeInfo) { sort.Slice(ns, func(i, j int) bool { return ns[i].ID < ns[j].ID }) }
