package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tickroom/tickroom/player"
)

// Online records that player id has a connection on this node: call it
// on the player's first connection here, and Offline after the last.
// Never blocks (queued like owner writes). An entry counts only while this
// node's lease is live, so presence needs no per-player refresh.
func (n *Node) Online(id player.ID) { n.enqueue(op{kind: "online", id: string(id)}) }

// Offline forgets that id is on this node. Never blocks (queued).
func (n *Node) Offline(id player.ID) { n.enqueue(op{kind: "offline", id: string(id)}) }

// Send publishes msg for player id to every other live node that has id
// online (at most once; a node that is down or resubscribing misses it)
// and returns how many nodes it published to. Errors wrap
// room.ErrUnavailable; a message over Config.MaxMessage is refused.
func (n *Node) Send(ctx context.Context, id player.ID, msg []byte) (int, error) {
	env := encodeEnvelope(id, msg)
	if len(env) > n.cfg.MaxMessage {
		return 0, fmt.Errorf("cluster: message of %d bytes over the %d-byte cap", len(env), n.cfg.MaxMessage)
	}
	ctx, cancel := n.opCtx(ctx)
	defer cancel()
	k, err := scrSend.Run(ctx, n.rdb, nil, n.args(n.id, string(id), env)...).Int64()
	if err != nil {
		return 0, n.unavailable("send", err)
	}
	return int(k), nil
}

// Present returns the live nodes (this one included) that have id online,
// sorted: a player is offline everywhere when it is empty. Errors wrap
// room.ErrUnavailable.
func (n *Node) Present(ctx context.Context, id player.ID) ([]string, error) {
	ctx, cancel := n.opCtx(ctx)
	defer cancel()
	nodes, err := scrPresence.Run(ctx, n.rdb, nil, n.args(string(id))...).StringSlice()
	if err != nil {
		return nil, n.unavailable("presence", err)
	}
	sort.Strings(nodes)
	return nodes, nil
}

// encodeEnvelope: uvarint len(id), id, msg.
func encodeEnvelope(id player.ID, msg []byte) []byte {
	b := binary.AppendUvarint(make([]byte, 0, len(id)+len(msg)+2), uint64(len(id)))
	b = append(b, id...)
	return append(b, msg...)
}

func decodeEnvelope(b []byte) (player.ID, []byte, error) {
	l, k := binary.Uvarint(b)
	if k <= 0 || l > uint64(len(b)-k) {
		return "", nil, errors.New("cluster: malformed envelope")
	}
	return player.ID(b[k : k+int(l)]), b[k+int(l):], nil
}

// readLoop reads the node channel on its own goroutine. It never blocks
// on a consumer (Deliver must not block), so a slow node cannot stall
// Redis PUBLISH (an embedded miniredis publishes under its global lock).
// After a failure go-redis reconnects and resubscribes on the next read,
// and that resubscription makes the node re-assert its state (messages in
// the gap are lost). An idle channel is probed (probe).
func (n *Node) readLoop() {
	backoff := 50 * time.Millisecond
	lost := false
	for {
		m, err := n.ps.ReceiveTimeout(n.ctx, n.cfg.probeEvery)
		if n.ctx.Err() != nil {
			return
		}
		if err != nil {
			var nerr interface{ Timeout() bool }
			if errors.As(err, &nerr) && nerr.Timeout() && !lost {
				if ok, gone := n.probe(); ok {
					if gone {
						lost = true // the coming confirmation re-asserts
					}
					continue
				}
			}
			if !lost {
				n.log.Warn("cluster: pub/sub connection lost", "err", err)
			}
			lost = true
			n.subscribed.Store(false)
			n.stats.redisErrors.Add(1)
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(backoff): // real time: network backoff, not a deadline
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := m.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && lost {
				lost = false
				n.subscribed.Store(true)
				n.log.Info("cluster: pub/sub resubscribed; re-asserting")
				n.dirty.Store(true)
				n.kickRenew()
			}
		case *redis.Message:
			n.deliver(m.Payload)
		}
	}
}

// probe checks an idle node channel: PING on the subscriber connection
// (it reads), then PUBLISH of an empty envelope to the channel through the
// command client. A PUBLISH that reaches no subscriber means the server
// lost the subscription while the connection looks healthy: resubscribe
// (gone). ok is false when the subscriber connection itself failed. A
// failed PUBLISH says nothing about the receive path and is ignored.
func (n *Node) probe() (ok, gone bool) {
	ctx, cancel := n.opCtx(n.ctx)
	defer cancel()
	if err := n.ps.Ping(ctx); err != nil {
		return false, false
	}
	k, err := n.rdb.Publish(ctx, n.channel(n.id), encodeEnvelope("", nil)).Result()
	if err != nil || k > 0 {
		return true, false
	}
	n.log.Warn("cluster: node channel has no subscriber; resubscribing")
	n.subscribed.Store(false)
	n.stats.redisErrors.Add(1)
	_ = n.ps.Subscribe(ctx, n.channel(n.id)) // on failure go-redis resubscribes on reconnect
	return true, true
}

func (n *Node) deliver(payload string) {
	if len(payload) > n.cfg.MaxMessage || n.cfg.Deliver == nil {
		n.stats.psDropped.Add(1)
		return
	}
	id, msg, err := decodeEnvelope([]byte(payload))
	if err != nil {
		n.stats.psDropped.Add(1)
		return
	}
	if id == "" {
		return // a probe
	}
	n.stats.psIn.Add(1)
	n.cfg.Deliver(id, msg)
}
