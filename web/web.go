// Package web serves tickroom's browser demo: the page at / and its assets
// under /assets/, embedded from dist/ (built from demo/ and the JS client
// SDK in client/ by `make web`; the build is committed so that
// `go install` needs no npm). dist/BUILD.json records a hash of the
// sources the bundle was built from; the package's tests fail when it is
// stale.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed dist
var dist embed.FS

// asset is one file served from dist, prepared once.
type asset struct {
	body  []byte
	ctype string
	etag  string
	cache string
}

// Handler returns the handler of the demo page: GET / is dist/index.html
// (revalidated on every load: Cache-Control no-cache with an ETag) and
// GET /assets/<file> is dist/assets/<file> (content-hashed names, cached
// for a year as immutable). Any other path is 404. It is safe for
// concurrent use.
func Handler() http.Handler {
	files := map[string]asset{}
	add := func(urlPath, name, cache string) {
		b, err := fs.ReadFile(dist, name)
		if err != nil {
			return
		}
		ct := mime.TypeByExtension(path.Ext(name))
		switch path.Ext(name) { // not left to the host's mime tables
		case ".html":
			ct = "text/html; charset=utf-8"
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".map":
			ct = "application/json"
		}
		sum := sha256.Sum256(b)
		files[urlPath] = asset{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, cache: cache}
	}
	add("/", "dist/index.html", "no-cache")
	entries, _ := fs.ReadDir(dist, "dist/assets")
	for _, e := range entries {
		if !e.IsDir() {
			add("/assets/"+e.Name(), "dist/assets/"+e.Name(), "public, max-age=31536000, immutable")
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := files[r.URL.Path]
		if !ok || r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		h.Set("Cache-Control", a.cache)
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasSuffix(a.ctype, "html; charset=utf-8") {
			h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}
