package cluster

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcTTL is the garbage-collection TTL of node and room records: far past
// any lease, so it never decides liveness.
func (n *Node) gcTTL() time.Duration { return max(6*n.cfg.LeaseTTL, time.Minute) }

// register writes the node hash and a fresh lease (same epoch).
func (n *Node) register(ctx context.Context) error {
	ctx, cancel := n.opCtx(ctx)
	defer cancel()
	dl := n.clock.Now().Add(n.cfg.LeaseTTL)
	if err := scrRegister.Run(ctx, n.rdb, nil, n.args(n.id, n.epoch, n.cfg.WSURL, dl.UnixMilli(), n.gcTTL().Milliseconds(), n.drainFlag())...).Err(); err != nil {
		n.stats.redisErrors.Add(1)
		return err
	}
	n.mu.Lock()
	n.leaseUntil = dl
	n.renewOK = true
	n.mu.Unlock()
	return nil
}

// renewLoop renews the lease every LeaseTTL/5 (and when kicked), on its
// own goroutine.
func (n *Node) renewLoop() {
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-n.tick.Chan():
		case <-n.kick:
		}
		n.renew()
	}
}

// kickRenew asks the renew loop to renew now. Never blocks.
func (n *Node) kickRenew() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// renew extends the lease. A refused renewal (the lease record is gone:
// swept, or Redis lost its data) registers again and re-asserts
// everything; a failed one only counts — a single missed renewal hides
// nothing, the lease runs LeaseTTL.
func (n *Node) renew() {
	ctx, cancel := n.opCtx(n.ctx)
	defer cancel()
	now := n.clock.Now()
	dl := now.Add(n.cfg.LeaseTTL)
	n.renewals++
	roomGC := int64(0) // room TTLs are refreshed once per lease, not every renewal
	if n.renewals%5 == 1 {
		roomGC = n.gcTTL().Milliseconds()
	}
	load, err := scrRenew.Run(ctx, n.rdb, nil, n.args(n.id, n.epoch, dl.UnixMilli(), roomGC, n.gcTTL().Milliseconds())...).Int64()
	if err == nil && load < 0 {
		n.log.Warn("cluster: lease lost; registering again and re-asserting rooms")
		err = n.register(n.ctx)
		if err == nil {
			n.dirty.Store(true)
		}
	}
	n.mu.Lock()
	wasOK := n.renewOK
	if err != nil {
		n.renewOK = false
		n.healthySince = time.Time{}
		n.mu.Unlock()
		if n.ctx.Err() == nil {
			n.stats.redisErrors.Add(1)
			n.stats.renewFailed.Add(1)
			if wasOK {
				n.log.Warn("cluster: lease renewal failed; the lease holds until its deadline", "err", err, "deadline", n.leaseDeadline())
			}
		}
		return
	}
	if !wasOK {
		n.log.Info("cluster: lease renewed again")
	}
	n.renewOK = true
	n.leaseUntil = dl
	if n.healthySince.IsZero() {
		n.healthySince = now
	}
	sweep := now.Sub(n.healthySince) >= n.cfg.LeaseTTL
	n.mu.Unlock()
	n.stats.renewOK.Add(1)
	if n.dirty.Swap(false) {
		n.requestReassert()
	}
	if sweep {
		n.sweep(now)
	}
}

// sweep removes the records of nodes whose lease deadline passed. Only a
// node that has itself been healthy for a full lease sweeps, so a shared
// outage gives every node the chance to renew first.
func (n *Node) sweep(now time.Time) {
	ctx, cancel := n.opCtx(n.ctx)
	defer cancel()
	dead, err := n.rdb.ZRangeByScore(ctx, n.prefix+"nodes", &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10)}).Result()
	if err != nil {
		n.stats.redisErrors.Add(1)
		return
	}
	for _, d := range dead {
		if d == n.id {
			continue
		}
		rooms, err := scrSweep.Run(ctx, n.rdb, nil, n.prefix, now.UnixMilli(), d, (10 * time.Minute).Milliseconds()).Int64()
		if err != nil {
			n.stats.redisErrors.Add(1)
			return
		}
		if rooms >= 0 {
			n.stats.swept.Add(1)
			n.log.Info("cluster: swept a dead node", "dead", d, "rooms", rooms)
		}
	}
}

func (n *Node) leaseDeadline() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.leaseUntil
}

// NodeInfo describes a live node.
type NodeInfo struct {
	ID       string
	WSURL    string
	Load     int       // seats plus live reservations, as of its last renewal
	Deadline time.Time // lease deadline
	Draining bool      // shutting down: placement and join-or-create skip it
}

// Nodes lists the live nodes (lease deadline ahead of this node's clock),
// sorted by ID. Errors wrap room.ErrUnavailable.
func (n *Node) Nodes(ctx context.Context) ([]NodeInfo, error) {
	ctx, cancel := n.opCtx(ctx)
	defer cancel()
	res, err := scrNodes.Run(ctx, n.rdb, nil, n.args()...).Slice()
	if err != nil {
		return nil, n.unavailable("nodes", err)
	}
	if len(res)%5 != 0 {
		return nil, fmt.Errorf("cluster: nodes: odd reply (%d)", len(res))
	}
	out := make([]NodeInfo, 0, len(res)/5)
	for i := 0; i < len(res); i += 5 {
		out = append(out, NodeInfo{ID: str(res[i]), WSURL: str(res[i+1]), Load: int(num(res[i+2])),
			Deadline: time.UnixMilli(num(res[i+3])), Draining: str(res[i+4]) == "1"})
	}
	sortNodes(out)
	return out, nil
}

// Drain marks the node draining in the store: from now on join-or-create
// and new-room placement (any node's, including the ticket matcher's)
// skip this node and its rooms, and reservations by room ID or join code
// in its rooms fail with room.ErrRoomLocked (the node refuses new
// connections); listings still show them, marked draining. A
// re-registration (lost lease) keeps the mark. It waits on the store within ctx and the op
// timeout; an error (the store is out) leaves the mark set locally, to be
// written by the next registration. Safe for concurrent use; idempotent.
func (n *Node) Drain(ctx context.Context) error {
	n.draining.Store(true)
	ctx, cancel := n.opCtx(ctx)
	defer cancel()
	ok, err := scrDrain.Run(ctx, n.rdb, nil, n.args(n.id, n.epoch)...).Int64()
	if err != nil {
		return n.unavailable("drain", err)
	}
	if ok == 0 {
		n.log.Warn("cluster: cannot mark the node draining: its lease record is gone or another incarnation's")
	}
	n.log.Info("cluster: node draining: placement skips it")
	return nil
}

// Draining reports whether Drain was called.
func (n *Node) Draining() bool { return n.draining.Load() }

func (n *Node) drainFlag() string {
	if n.draining.Load() {
		return "1"
	}
	return "0"
}
