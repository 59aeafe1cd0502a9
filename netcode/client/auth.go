package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// GuestToken fetches a development token from a server started with guest
// auth: POST {httpBase}/v1/auth/guest {"name": name}. httpBase is the
// server's HTTP base URL (http://host:port). A refusal is an *HTTPError.
// The request does not keep its connection alive, so nothing lingers after
// it returns. Of opts, WithTLSConfig and WithHTTPClient apply.
func GuestToken(ctx context.Context, httpBase, name string, opts ...RequestOption) (token, playerID string, err error) {
	var o requestOptions
	for _, f := range opts {
		f(&o)
	}
	body, _ := json.Marshal(map[string]string{"name": name})
	u := strings.TrimSuffix(httpBase, "/") + "/v1/auth/guest"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", "", fmt.Errorf("client: guest token: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc, closeConn := o.httpClient()
	req.Close = closeConn
	resp, err := hc.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("client: guest token: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", httpError(resp)
	}
	var out struct {
		Token    string `json:"token"`
		PlayerID string `json:"player_id"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil {
		return "", "", fmt.Errorf("client: guest token: bad response: %w", err)
	}
	if out.Token == "" || out.PlayerID == "" {
		return "", "", fmt.Errorf("client: guest token: response without token or player_id")
	}
	return out.Token, out.PlayerID, nil
}

// httpError builds an *HTTPError from a failed response, with the code and
// message of its JSON error body when it can be read (best effort: after a
// failed WebSocket handshake the connection is already closed and only what
// was buffered is available).
func httpError(resp *http.Response) *HTTPError {
	e := &HTTPError{StatusCode: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	if resp.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		_ = resp.Body.Close()
		var body struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &body) == nil {
			e.Code, e.Message = body.Code, body.Message
		}
	}
	return e
}
