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

// ticketClient returns a command client for a backend: no retries, and
// deadlines from the context, as the server configures its own.
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
	opt.ReadTimeout = 5 * time.Second // the store's own deadlines decide (ticketTestConfig)
	opt.WriteTimeout = 5 * time.Second
	opt.PoolTimeout = 5 * time.Second
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// ticketTestConfig gives the store generous deadlines: under -race and a
// loaded machine, miniredis runs each script in a fresh Lua state, behind
// one lock. (Requests still answer within matchmaking's 1 s bound.)
var ticketTestConfig = cluster.TicketConfig{Timeout: 5 * time.Second}

// The store conformance suite, on miniredis and on a real redis-server.
func TestTicketStoreConformance(t *testing.T) {
	ticketLeakCheck(t)
	for _, b := range clustertest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			c := ticketClient(t, b)
			ticketstoretest.Run(t, func(t *testing.T) matchmaking.TicketStore {
				return cluster.NewTicketStore(c, clustertest.Prefix(t), ticketTestConfig)
			})
		})
	}
}
