package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/tickroom/tickroom/web"
)

func TestHandler(t *testing.T) {
	var info struct{ App string }
	b, err := os.ReadFile("dist/BUILD.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(web.Handler())
	defer hs.Close()
	for _, tt := range []struct {
		path, ctype, cache, body string
		status                   int
	}{
		{"/", "text/html; charset=utf-8", "no-cache", "<canvas id=\"arena\"", 200},
		{"/" + info.App, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "", 200},
		{"/assets/nope.js", "", "", "", 404},
		{"/BUILD.json", "", "", "", 404},
		{"/index.html", "", "", "", 404},
	} {
		resp, err := http.Get(hs.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("GET %s = %d, want %d", tt.path, resp.StatusCode, tt.status)
			continue
		}
		if tt.status != 200 {
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != tt.ctype {
			t.Errorf("GET %s Content-Type %q, want %q", tt.path, got, tt.ctype)
		}
		if got := resp.Header.Get("Cache-Control"); got != tt.cache {
			t.Errorf("GET %s Cache-Control %q, want %q", tt.path, got, tt.cache)
		}
		if !strings.Contains(string(body), tt.body) {
			t.Errorf("GET %s body lacks %q", tt.path, tt.body)
		}
		// A revalidation with the ETag is answered 304 without a body.
		req, _ := http.NewRequest("GET", hs.URL+tt.path, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		r2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		if r2.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag = %d, want 304", tt.path, r2.StatusCode)
		}
	}
}
