package cluster_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tickroom/tickroom/cluster"
	"github.com/tickroom/tickroom/cluster/clustertest"
	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/matchmaking/ticketstoretest"
	"go.uber.org/goleak"
)

// ticketLeakCheck verifies, when t ends (after every cleanup registered
// later), that t left no goroutine behind.
func ticketLeakCheck(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// ticketClient returns a command client for a backend, configured as the
// server configures its own: no retries, deadlines from the context.
func ticketClient(t *testing.T, b clustertest.Backend) redis.UniversalClient {
	t.Helper()
	opt, err := redis.ParseURL(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1
	opt.ContextTimeoutEnabled = true
	opt.DisableIdentity = true
	opt.DialTimeout = 500 * time.Millisecond
	opt.ReadTimeout = 500 * time.Millisecond
	opt.WriteTimeout = 500 * time.Millisecond
	opt.PoolTimeout = 600 * time.Millisecond
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// The store conformance suite, on miniredis and on a real redis-server.
func TestTicketStoreConformance(t *testing.T) {
	ticketLeakCheck(t)
	for _, b := range clustertest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			c := ticketClient(t, b)
			ticketstoretest.Run(t, func(t *testing.T) matchmaking.TicketStore {
				return cluster.NewTicketStore(c, clustertest.Prefix(t))
			})
		})
	}
}
