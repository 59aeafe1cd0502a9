package bot

import (
	"testing"
	"time"
)

func TestNextSlot(t *testing.T) {
	t0 := time.Unix(1000, 0)
	const p = 50 * time.Millisecond
	tests := []struct {
		name     string
		now      time.Duration // since t0 (the slot just served)
		wantNext time.Duration
		wantSkip uint64
	}{
		{"on time", 1 * time.Millisecond, p, 0},
		{"late within the period", 49 * time.Millisecond, p, 0},
		{"exactly on the next slot", p, 2 * p, 1},
		{"two periods late", 2*p + time.Millisecond, 3 * p, 2},
		{"timer fired early", -time.Millisecond, p, 0},
	}
	for _, tc := range tests {
		next, skipped := nextSlot(t0, t0.Add(tc.now), p)
		if got := next.Sub(t0); got != tc.wantNext || skipped != tc.wantSkip {
			t.Errorf("%s: got next +%v skipped %d, want +%v skipped %d", tc.name, got, skipped, tc.wantNext, tc.wantSkip)
		}
	}
}
