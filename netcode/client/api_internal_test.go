package client

import (
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/tickroom/tickroom/netcode"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		h    string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{" 1 ", time.Second},
		{"-4", 0},
		{"soon", 0},
		{now.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second},
		{now.Add(-5 * time.Second).Format(http.TimeFormat), 0},
	}
	for _, tc := range tests {
		if got := retryAfter(tc.h, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

// TestHandleMatched: a pushed matched message reaches OnMatched.
func TestHandleMatched(t *testing.T) {
	var got []Matched
	c := &Client{
		cfg:     Config{OnMatched: func(m Matched) { got = append(got, m) }},
		log:     slog.New(slog.DiscardHandler),
		welcome: make(chan struct{}),
		changed: make(chan struct{}),
		pings:   map[uint64]chan error{},
		rep:     newReplica(4),
	}
	b := netcode.NewBuffer(128)
	netcode.AppendMatched(b, "t1", "arena", "r1", "s1", 1_777_636_815_123, "")
	c.handle(b.B)
	want := Matched{TicketID: "t1", Mode: "arena", RoomID: "r1", SeatToken: "s1", ExpiresAt: time.UnixMilli(1_777_636_815_123)}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("OnMatched got %+v, want [%+v]", got, want)
	}
	if st := c.Stats(); st.Matched != 1 || st.Malformed != 0 || st.Unknown != 0 {
		t.Errorf("stats %+v: want 1 matched, nothing malformed or unknown", st)
	}
}
