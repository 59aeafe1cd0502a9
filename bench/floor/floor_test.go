package floor_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/bench/floor"
	"github.com/tickroom/tickroom/server"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The floor's lateness histogram reads like tickroom's.
func TestLatenessBucketsMatchTickroom(t *testing.T) {
	if !reflect.DeepEqual(floor.LatenessBuckets, server.TickLatenessBuckets) {
		t.Errorf("floor.LatenessBuckets = %v, want server.TickLatenessBuckets %v", floor.LatenessBuckets, server.TickLatenessBuckets)
	}
}

// A short real run: the load generator's connections get one 40-byte
// frame per tick, the server counts their 12-byte inputs.
func TestServerAndLoad(t *testing.T) {
	s, err := floor.New(floor.Config{TickRate: 50})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ticked := make(chan error, 1)
	go func() { ticked <- s.Run(ctx) }()

	sum, err := floor.RunLoad(context.Background(), floor.LoadConfig{
		URL: "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws", Conns: 3, Rate: 50, Duration: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	cancel()
	if err := <-ticked; err != nil {
		t.Fatal(err)
	}

	if sum.Connected != 3 || sum.Errors != 0 {
		t.Fatalf("got %+v, want 3 connected and no errors", sum)
	}
	// 300 ms at 50 Hz: about 15 frames and 15 inputs per connection.
	if sum.FramesReceived < 3*8 || sum.BytesReceived != 40*sum.FramesReceived {
		t.Errorf("got %d frames, %d bytes; want ≥ 24 frames of 40 bytes", sum.FramesReceived, sum.BytesReceived)
	}
	if sum.InputsSent < 3*8 {
		t.Errorf("got %d inputs sent, want ≥ 24", sum.InputsSent)
	}
	for _, want := range []string{"floor_ticks_total ", "floor_inputs_total ", `floor_tick_lateness_seconds_bucket{le="+Inf"} `, "floor_connections "} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
}
