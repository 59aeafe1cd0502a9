package player

import (
	"net/http/httptest"
	"testing"
)

func TestTokenFromRequestSubprotocol(t *testing.T) {
	tests := []struct {
		name      string
		auth      string
		protocols []string // Sec-WebSocket-Protocol header lines
		query     string
		want      string
	}{
		{"subprotocol", "", []string{"tickroom.v1, bearer.abc.def.ghi"}, "", "abc.def.ghi"},
		{"bearer first", "", []string{"bearer.x, tickroom.v1"}, "", "x"},
		{"two header lines", "", []string{"tickroom.v1", "bearer.y"}, "", "y"},
		{"header wins", "Bearer h", []string{"tickroom.v1, bearer.p"}, "", "h"},
		{"subprotocol wins over query", "", []string{"tickroom.v1, bearer.p"}, "access_token=q", "p"},
		{"empty bearer falls back to query", "", []string{"tickroom.v1, bearer."}, "access_token=q", "q"},
		{"no bearer entry", "", []string{"tickroom.v1"}, "", ""},
		{"prefix is case-sensitive", "", []string{"Bearer.z"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "/ws"
			if tt.query != "" {
				target += "?" + tt.query
			}
			r := httptest.NewRequest("GET", target, nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			for _, p := range tt.protocols {
				r.Header.Add("Sec-WebSocket-Protocol", p)
			}
			if got := TokenFromRequest(r); got != tt.want {
				t.Errorf("TokenFromRequest = %q, want %q", got, tt.want)
			}
		})
	}
}
