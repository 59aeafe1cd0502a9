package server

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// origins is a parsed Config.AllowedOrigins: exact scheme://host[:port]
// entries, and *.domain wildcards that match any subdomain (not the domain
// itself) with the same scheme and port.
type origins struct {
	exact map[string]bool // canonical scheme://host[:port]
	wild  []wildOrigin
}

type wildOrigin struct {
	scheme, suffix, port string // suffix starts with "."
}

// parseOrigins validates the allow-list. Nil means every origin is allowed.
func parseOrigins(list []string) (*origins, error) {
	if len(list) == 0 {
		return nil, nil
	}
	o := &origins{exact: map[string]bool{}}
	for _, s := range list {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("server: AllowedOrigins entry %q is not scheme://host[:port] with scheme http or https", s)
		}
		host := strings.ToLower(u.Hostname())
		port := u.Port()
		if rest, ok := strings.CutPrefix(host, "*."); ok {
			if rest == "" || strings.Contains(rest, "*") {
				return nil, fmt.Errorf("server: AllowedOrigins entry %q: a wildcard must be *.domain", s)
			}
			o.wild = append(o.wild, wildOrigin{scheme: u.Scheme, suffix: "." + rest, port: port})
			continue
		}
		if strings.Contains(host, "*") {
			return nil, errors.New("server: AllowedOrigins entry " + fmt.Sprintf("%q", s) + ": a wildcard must be *.domain")
		}
		o.exact[canonOrigin(u.Scheme, host, port)] = true
	}
	return o, nil
}

// canonOrigin drops a port that is the scheme's default.
func canonOrigin(scheme, host, port string) string {
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return scheme + "://" + host + ":" + port
	}
	return scheme + "://" + host
}

// allowed reports whether a handshake with this Origin header value may
// proceed. An absent header (non-browser clients) is allowed; "null" and
// anything that is not an http(s) origin are not.
func (o *origins) allowed(origin string, present bool) bool {
	if o == nil || !present {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if o.exact[canonOrigin(u.Scheme, host, port)] {
		return true
	}
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	for _, w := range o.wild {
		wp := w.port
		if (w.scheme == "http" && wp == "80") || (w.scheme == "https" && wp == "443") {
			wp = ""
		}
		if w.scheme == u.Scheme && wp == port && strings.HasSuffix(host, w.suffix) && len(host) > len(w.suffix) {
			return true
		}
	}
	return false
}
