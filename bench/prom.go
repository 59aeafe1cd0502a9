package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Sample is one line of the Prometheus text exposition format.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Scrape is one read of a /metrics endpoint.
type Scrape []Sample

// ParseMetrics parses the Prometheus text exposition format (version
// 0.0.4): comment lines are skipped, each other line is
// `name{label="value",...} value [timestamp]`.
func ParseMetrics(text string) (Scrape, error) {
	var out Scrape
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("bench: metrics line %d: %w", n+1, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseSample(line string) (Sample, error) {
	var s Sample
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return s, fmt.Errorf("no value in %q", line)
	}
	s.Name, line = line[:i], line[i:]
	if line[0] == '{' {
		var err error
		if s.Labels, line, err = parseLabels(line[1:]); err != nil {
			return s, err
		}
	}
	f := strings.Fields(line)
	if len(f) < 1 || len(f) > 2 {
		return s, fmt.Errorf("want a value and an optional timestamp after %s, got %q", s.Name, line)
	}
	v, err := parseFloat(f[0])
	if err != nil {
		return s, err
	}
	s.Value = v
	return s, nil
}

// parseLabels parses `a="x",b="y"}` and returns what follows the '}'.
func parseLabels(s string) (map[string]string, string, error) {
	labels := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", fmt.Errorf("unterminated labels")
		}
		if s[0] == '}' {
			return labels, s[1:], nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || len(s) < eq+2 || s[eq+1] != '"' {
			return nil, "", fmt.Errorf("bad label in %q", s)
		}
		name := strings.TrimSpace(s[:eq])
		s = s[eq+2:]
		var v strings.Builder
		closed := false
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					v.WriteByte('\n')
				default: // \\ and \"
					v.WriteByte(s[i])
				}
				continue
			}
			if c == '"' {
				s, closed = s[i+1:], true
				break
			}
			v.WriteByte(c)
		}
		if !closed {
			return nil, "", fmt.Errorf("unterminated label value for %s", name)
		}
		labels[name] = v.String()
		s = strings.TrimLeft(s, " \t")
		if strings.HasPrefix(s, ",") {
			s = s[1:]
		}
	}
}

func parseFloat(s string) (float64, error) {
	switch s {
	case "+Inf", "Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	case "NaN":
		return math.NaN(), nil
	}
	return strconv.ParseFloat(s, 64)
}

// Value returns the value of the sample without labels called name.
func (sc Scrape) Value(name string) (float64, bool) {
	for _, s := range sc {
		if s.Name == name && len(s.Labels) == 0 {
			return s.Value, true
		}
	}
	return 0, false
}

// Bucket is one cumulative histogram bucket: Count observations ≤ Le.
type Bucket struct {
	Le    float64
	Count float64
}

// Histogram is a Prometheus histogram: cumulative buckets sorted by
// bound, the last one +Inf.
type Histogram struct {
	Buckets    []Bucket
	Count, Sum float64
}

// Histogram returns the histogram called name (its _bucket, _count and
// _sum series).
func (sc Scrape) Histogram(name string) (Histogram, error) {
	var h Histogram
	for _, s := range sc {
		if s.Name != name+"_bucket" {
			continue
		}
		le, err := parseFloat(s.Labels["le"])
		if err != nil {
			return h, fmt.Errorf("bench: %s: bucket bound %q: %w", name, s.Labels["le"], err)
		}
		h.Buckets = append(h.Buckets, Bucket{Le: le, Count: s.Value})
	}
	if len(h.Buckets) == 0 {
		return h, fmt.Errorf("bench: no histogram %s", name)
	}
	sort.Slice(h.Buckets, func(i, j int) bool { return h.Buckets[i].Le < h.Buckets[j].Le })
	if !math.IsInf(h.Buckets[len(h.Buckets)-1].Le, 1) {
		return h, fmt.Errorf("bench: histogram %s has no +Inf bucket", name)
	}
	h.Count, _ = sc.Value(name + "_count")
	h.Sum, _ = sc.Value(name + "_sum")
	return h, nil
}

// Sub returns the observations made between an earlier read of the same
// histogram and h.
func (h Histogram) Sub(earlier Histogram) (Histogram, error) {
	if len(earlier.Buckets) != len(h.Buckets) {
		return Histogram{}, fmt.Errorf("bench: histogram buckets changed between scrapes (%d, %d)", len(earlier.Buckets), len(h.Buckets))
	}
	d := Histogram{Count: h.Count - earlier.Count, Sum: h.Sum - earlier.Sum, Buckets: make([]Bucket, len(h.Buckets))}
	for i, b := range h.Buckets {
		if earlier.Buckets[i].Le != b.Le {
			return Histogram{}, fmt.Errorf("bench: histogram bucket bounds changed between scrapes")
		}
		d.Buckets[i] = Bucket{Le: b.Le, Count: b.Count - earlier.Buckets[i].Count}
	}
	return d, nil
}

// Quantile estimates the q-quantile (0 < q ≤ 1) the way PromQL's
// histogram_quantile does: find the bucket holding the rank q·count and
// interpolate linearly between its lower bound (the previous bucket's
// bound, 0 for the first) and its upper bound. A quantile that falls in
// the +Inf bucket is reported as the highest finite bound. It returns
// NaN for an empty histogram.
func (h Histogram) Quantile(q float64) float64 {
	total := h.Buckets[len(h.Buckets)-1].Count
	if total <= 0 || q <= 0 || q > 1 {
		return math.NaN()
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for i, b := range h.Buckets {
		if b.Count >= rank && b.Count > below {
			if math.IsInf(b.Le, 1) {
				if i == 0 {
					return math.NaN()
				}
				return h.Buckets[i-1].Le
			}
			return lower + (b.Le-lower)*(rank-below)/(b.Count-below)
		}
		lower, below = b.Le, b.Count
	}
	return lower
}

// Max returns the upper bound of the highest non-empty bucket (+Inf if
// that is the last bucket), or NaN for an empty histogram.
func (h Histogram) Max() float64 {
	below := 0.0
	max := math.NaN()
	for _, b := range h.Buckets {
		if b.Count > below {
			max = b.Le
		}
		below = b.Count
	}
	return max
}

// ScrapeURL fetches and parses a /metrics endpoint.
func ScrapeURL(ctx context.Context, url string) (Scrape, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: GET %s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	return ParseMetrics(string(b))
}
