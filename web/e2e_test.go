package web_test

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBrowserE2E plays the demo page in two headless Chromium pages
// (web/e2e/e2e.mjs, playwright-core driving Debian's chromium) against a
// real server on loopback: both join one room, a move in one is drawn in
// the other, "drop connection" resumes the same seat with a replica that
// matches the server, and a screenshot of the arena is saved (its path is
// logged: under -outputdir with go test -artifacts, else
// $TMPDIR/tickroom-e2e/). Outside CI it is skipped when Chromium or
// web/node_modules is missing; in CI (CI=true) it fails instead.
func TestBrowserE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the browser test takes a few seconds")
	}
	node := needNode(t, "run the browser test")
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		msg := "cannot run the browser test: " + err.Error() + " (apt-get install chromium, or set CHROMIUM)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := os.Stat("node_modules/playwright-core"); err != nil {
		msg := "cannot run the browser test: no playwright-core (npm ci in web/)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath(node); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(os.TempDir(), "tickroom-e2e")
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		out = t.ArtifactDir()
	}
	url := startServer(t)
	start := time.Now()
	runNode(t, node, url, 3*time.Minute, []string{"E2E_OUT=" + out, "CHROMIUM=" + chromium}, "e2e/e2e.mjs")
	t.Logf("browser e2e passed in %v; screenshot %s", time.Since(start).Round(time.Millisecond), filepath.Join(out, "arena.png"))
}
