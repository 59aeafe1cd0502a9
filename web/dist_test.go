package web_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// sourcesHash is web/build.mjs's sourcesHash in Go: SHA-256 over each
// source of the bundle (path, NUL, bytes, NUL), in path order.
func sourcesHash(t *testing.T) string {
	t.Helper()
	files := []string{"build.mjs", "package.json", "package-lock.json"}
	ext := regexp.MustCompile(`\.(js|mjs|html|css|json)$`)
	for _, dir := range []string{"demo", "client"} {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "test" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if !d.IsDir() && ext.MatchString(d.Name()) {
				files = append(files, filepath.ToSlash(p))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h.Write([]byte(f + "\x00"))
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestDistUpToDate fails when the committed bundle in dist/ was not built
// from the current sources, by the source hash recorded in dist/BUILD.json
// (no npm needed). TestDistRebuild checks the bundle itself.
func TestDistUpToDate(t *testing.T) {
	b, err := os.ReadFile("dist/BUILD.json")
	if err != nil {
		t.Fatalf("%v (run make web)", err)
	}
	var info struct {
		SourcesSHA256 string `json:"sources_sha256"`
		App           string `json:"app"`
	}
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	if got := sourcesHash(t); got != info.SourcesSHA256 {
		t.Fatalf("web/dist was built from other sources (hash %s, sources now %s): run make web and commit web/dist", info.SourcesSHA256, got)
	}
	if _, err := os.Stat(filepath.Join("dist", info.App)); err != nil {
		t.Fatalf("BUILD.json names %s: %v", info.App, err)
	}
	html, err := os.ReadFile("dist/index.html")
	if err != nil || !strings.Contains(string(html), `src="/`+info.App+`"`) {
		t.Fatalf("dist/index.html does not load /%s (err %v)", info.App, err)
	}
}

// TestDistRebuild rebuilds the bundle (where node and web/node_modules are
// installed) and fails unless it is byte for byte the committed one.
func TestDistRebuild(t *testing.T) {
	node := needNode(t, "rebuild the bundle")
	cmd := exec.Command(node, "build.mjs", "--check")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node build.mjs --check: %v\n%s", err, out)
	}
}

// needNode returns the path of node when it and web/node_modules are
// there. Otherwise the test is skipped with the reason, or fails in CI
// (CI=true), where .ci/run installs them.
func needNode(t *testing.T, what string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		if _, err = os.Stat("node_modules/@msgpack/msgpack"); err != nil {
			err = &exec.Error{Name: "web/node_modules", Err: os.ErrNotExist}
		}
	}
	if err != nil {
		msg := "cannot " + what + ": " + err.Error() + " (install Node.js and run npm ci in web/)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node
}
