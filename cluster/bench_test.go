package cluster

import (
	"testing"
	"time"

	"github.com/tickroom/tickroom/cluster/clustertest"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// BenchmarkReserve measures one join-or-create reservation (one script
// round trip) on each backend, with 50 rooms of the type listed.
func BenchmarkReserve(b *testing.B) {
	for _, be := range []func(testing.TB) clustertest.Backend{clustertest.Mini, clustertest.Real} {
		bk := be(b)
		b.Run(bk.Name, func(b *testing.B) {
			n, err := Open(b.Context(), Config{URL: bk.URL, Prefix: clustertest.Prefix(b), NodeID: "a", WSURL: "ws://a"})
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			d := n.Directory()
			for range 50 {
				if _, err := d.Take(b.Context(), room.Selector{Type: "g", Create: true}, 10); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, _, err := d.Reserve(b.Context(), room.Selector{Type: "g"}, 10, []player.ID{"p"}, []string{newToken()}, time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
