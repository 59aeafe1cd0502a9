package cluster_test

import (
	"fmt"
	"testing"

	"github.com/tickroom/tickroom/cluster"
	"github.com/tickroom/tickroom/cluster/clustertest"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// BenchmarkDirectoryReserve is one join-or-create reservation (the reserve
// script) on each backend, with rooms filling up as it runs.
func BenchmarkDirectoryReserve(b *testing.B) {
	for _, be := range []clustertest.Backend{clustertest.Mini(b), clustertest.Real(b)} {
		b.Run(be.Name, func(b *testing.B) {
			n, err := cluster.Open(b.Context(), cluster.Config{URL: be.URL, Prefix: clustertest.Prefix(b), WSURL: "ws://x/ws"})
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			d := n.Directory()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, _, err := d.Reserve(b.Context(), room.Selector{Type: "arena"}, 10, []player.ID{player.ID(fmt.Sprint("p", i))}, []string{fmt.Sprint("tok", i)}, 15e9)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
