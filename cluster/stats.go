package cluster

import "sync/atomic"

// Stats are the node's counters since Open.
type Stats struct {
	RedisErrors    uint64 // failed Redis calls (any path)
	OpsApplied     uint64 // owner writes applied
	OpsRefused     uint64 // owner writes refused: another owner holds the record
	OpsDropped     uint64 // owner writes dropped: queue full or node closed
	PubSubIn       uint64 // direct messages received
	PubSubDropped  uint64 // direct messages dropped: malformed, too big, or no Deliver
	RenewalsOK     uint64
	RenewalsFailed uint64
	Reassertions   uint64 // completed re-assertions of rooms, tokens and presence
	Swept          uint64 // dead nodes swept by this node
}

type counters struct {
	redisErrors, opsApplied, opsRefused, opsDropped, psIn, psDropped,
	renewOK, renewFailed, reassertions, swept atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (n *Node) Stats() Stats {
	c := &n.stats
	return Stats{RedisErrors: c.redisErrors.Load(), OpsApplied: c.opsApplied.Load(), OpsRefused: c.opsRefused.Load(),
		OpsDropped: c.opsDropped.Load(), PubSubIn: c.psIn.Load(), PubSubDropped: c.psDropped.Load(),
		RenewalsOK: c.renewOK.Load(), RenewalsFailed: c.renewFailed.Load(), Reassertions: c.reassertions.Load(),
		Swept: c.swept.Load()}
}
