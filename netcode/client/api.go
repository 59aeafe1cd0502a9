package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The matchmaking API (docs/API.md, docs/openapi.yaml): HTTP helpers that
// put the player into rooms. Each takes the server's HTTP base URL
// (http://host:port) and the player token, and returns the answer or an
// *HTTPError carrying the status, the stable error code and the message
// of the server's {code, message} body (and Retry-After for 429).
//
// A quick-match answer is a Reservation: dial its WSURL (do not derive it
// from the base URL: the server says where the seat is) and take the seat
// with Client.JoinSeat before ExpiresAt.

// Reservation is a seat held for the player in one room until ExpiresAt
// (docs/API.md, "Reservations"). The seat token is single use and valid only
// for the player it was reserved for; never log or share it.
type Reservation struct {
	RoomID    string    `json:"room_id"`
	Mode      string    `json:"mode"`
	WSURL     string    `json:"ws_url"` // the WebSocket to dial, e.g. wss://play.example.com/ws
	SeatToken string    `json:"seat_token"`
	ExpiresAt time.Time `json:"expires_at"`
	Code      string    `json:"code,omitempty"` // the join code of a private room
}

// CreateRoomRequest is the body of CreateRoom.
type CreateRoomRequest struct {
	Mode string `json:"mode"`
	// Private rooms are not listed nor picked by join-or-create; others
	// join them by room ID or by the returned Reservation.Code.
	Private  bool              `json:"private,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// JoinRoomRequest is the body of JoinRoom: exactly one of RoomID and Code.
type JoinRoomRequest struct {
	RoomID string `json:"room_id,omitempty"`
	Code   string `json:"code,omitempty"`
}

// RoomInfo is a public room, as listed by ListRooms.
type RoomInfo struct {
	RoomID   string            `json:"room_id"`
	Mode     string            `json:"mode"`
	Players  int               `json:"players"` // seats taken, joining or reserved
	Capacity int               `json:"capacity"`
	Locked   bool              `json:"locked"` // takes no one: locked by game code, or full
	Metadata map[string]string `json:"metadata"`
	// Node and WSURL name the cluster node that runs the room and where
	// to connect to it (empty on a single server that does not say).
	Node  string `json:"node,omitempty"`
	WSURL string `json:"ws_url,omitempty"`
	// Draining: the room's node is shutting down (join-or-create no
	// longer places players there).
	Draining bool `json:"draining,omitempty"`
}

// TicketRequest is the body of CreateTicket.
type TicketRequest struct {
	Mode string `json:"mode"`
	// Rating is the ticket's skill rating (a party's: the party's); nil
	// takes the mode's default (1500).
	Rating *float64 `json:"rating,omitempty"`
	// Region; "" means any.
	Region string `json:"region,omitempty"`
	// Party are the other members' player IDs (the caller always is one);
	// they play on one team.
	Party []string `json:"party,omitempty"`
}

// Ticket states (Ticket.Status).
const (
	TicketQueued    = "queued"
	TicketMatched   = "matched"
	TicketExpired   = "expired"   // no match within the mode's ticket TTL
	TicketCancelled = "cancelled" // by CancelTicket (any member)
)

// Ticket is a matchmaking ticket (docs/API.md, "Ticket queues").
type Ticket struct {
	ID        string    `json:"ticket_id"`
	Mode      string    `json:"mode"`
	Status    string    `json:"status"`  // TicketQueued, TicketMatched, TicketExpired or TicketCancelled
	Players   []string  `json:"players"` // the owner first, then the party
	Rating    float64   `json:"rating"`
	Region    string    `json:"region,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// WaitMS is the time queued so far, or until the ticket ended.
	WaitMS int64 `json:"wait_ms"`
	// Window is the widest rating spread the ticket accepts now, or
	// accepted when it was matched.
	Window float64 `json:"window"`
	// Team is the 0-based team of a matched ticket.
	Team int `json:"team,omitempty"`
	// Reservation is the requester's own seat in a matched ticket's room.
	Reservation *Reservation `json:"reservation,omitempty"`
}

// RequestOption adjusts one matchmaking API call.
type RequestOption func(*requestOptions)

type requestOptions struct {
	idemKey string
	hc      *http.Client
	tls     *tls.Config
}

// WithIdempotencyKey sends an Idempotency-Key header (1..255 printable
// ASCII characters) with a POST: a retry with the same key and the same
// request gets the first answer again instead of a second reservation or
// ticket, as long as that answer is live (docs/API.md).
func WithIdempotencyKey(key string) RequestOption {
	return func(o *requestOptions) { o.idemKey = key }
}

// WithHTTPClient makes the request with hc (e.g. one sharing keep-alive
// connections among many calls). Without it each request uses
// http.DefaultClient on a connection of its own that is closed after the
// answer, so nothing lingers.
func WithHTTPClient(hc *http.Client) RequestOption {
	return func(o *requestOptions) { o.hc = hc }
}

// WithTLSConfig makes an https request with tc (e.g. RootCAs trusting a
// private or test CA), on a connection of its own as without options.
// WithHTTPClient wins over it.
func WithTLSConfig(tc *tls.Config) RequestOption {
	return func(o *requestOptions) { o.tls = tc }
}

// httpClient is the client a request is made with, and whether its
// connection must be closed after the answer.
func (o *requestOptions) httpClient() (hc *http.Client, closeConn bool) {
	switch {
	case o.hc != nil:
		return o.hc, false
	case o.tls != nil:
		return &http.Client{Transport: &http.Transport{TLSClientConfig: o.tls.Clone(), Proxy: http.ProxyFromEnvironment, DisableKeepAlives: true}}, true
	default:
		return http.DefaultClient, true
	}
}

// maxAPIResponse bounds an API answer read by the helpers.
const maxAPIResponse = 1 << 20

// JoinOrCreate asks for a seat in the oldest open public room of mode whose
// metadata has every one of filters, or in a new public room whose
// metadata is filters: POST /v1/matchmake/join-or-create. Concurrent calls
// fill one room before another is created.
func JoinOrCreate(ctx context.Context, httpBase, token, mode string, filters map[string]string, opts ...RequestOption) (Reservation, error) {
	body := struct {
		Mode    string            `json:"mode"`
		Filters map[string]string `json:"filters,omitempty"`
	}{mode, filters}
	var r Reservation
	err := apiCall(ctx, http.MethodPost, httpBase, "/v1/matchmake/join-or-create", token, body, &r, opts)
	if err == nil {
		err = r.check()
	}
	return r, wrapAPI("join-or-create", err)
}

// CreateRoom asks for a seat in a new room: POST /v1/matchmake/create. A
// private room's Reservation carries its join Code.
func CreateRoom(ctx context.Context, httpBase, token string, req CreateRoomRequest, opts ...RequestOption) (Reservation, error) {
	var r Reservation
	err := apiCall(ctx, http.MethodPost, httpBase, "/v1/matchmake/create", token, req, &r, opts)
	if err == nil {
		err = r.check()
	}
	return r, wrapAPI("create", err)
}

// JoinRoom asks for a seat in one room, by ID or by join code:
// POST /v1/matchmake/join.
func JoinRoom(ctx context.Context, httpBase, token string, req JoinRoomRequest, opts ...RequestOption) (Reservation, error) {
	var r Reservation
	err := apiCall(ctx, http.MethodPost, httpBase, "/v1/matchmake/join", token, req, &r, opts)
	if err == nil {
		err = r.check()
	}
	return r, wrapAPI("join", err)
}

// ListRooms lists the public rooms of mode ("" for all modes), sorted by
// room ID: GET /v1/rooms.
func ListRooms(ctx context.Context, httpBase, token, mode string, opts ...RequestOption) ([]RoomInfo, error) {
	path := "/v1/rooms"
	if mode != "" {
		path += "?mode=" + url.QueryEscape(mode)
	}
	var out struct {
		Rooms []RoomInfo `json:"rooms"`
	}
	err := apiCall(ctx, http.MethodGet, httpBase, path, token, nil, &out, opts)
	return out.Rooms, wrapAPI("list rooms", err)
}

// CreateTicket queues the player (and req.Party) for a match in a mode
// with a ticket queue: POST /v1/matchmaking/tickets. When the ticket is
// matched, every member with a live WebSocket gets Config.OnMatched; the
// ticket (GetTicket) then carries the member's Reservation too. A second
// live ticket in the same mode is a 409 ticket_exists.
func CreateTicket(ctx context.Context, httpBase, token string, req TicketRequest, opts ...RequestOption) (Ticket, error) {
	var t Ticket
	err := apiCall(ctx, http.MethodPost, httpBase, "/v1/matchmaking/tickets", token, req, &t, opts)
	if err == nil && t.ID == "" {
		err = errors.New("answer without ticket_id")
	}
	return t, wrapAPI("create ticket", err)
}

// GetTicket reads a ticket of the player's: GET
// /v1/matchmaking/tickets/{id}. Anyone else's ticket is a 404
// ticket_not_found.
func GetTicket(ctx context.Context, httpBase, token, id string, opts ...RequestOption) (Ticket, error) {
	var t Ticket
	err := apiCall(ctx, http.MethodGet, httpBase, "/v1/matchmaking/tickets/"+url.PathEscape(id), token, nil, &t, opts)
	return t, wrapAPI("get ticket", err)
}

// CancelTicket cancels a queued ticket: DELETE
// /v1/matchmaking/tickets/{id}. A ticket that already ended is returned
// unchanged, except a matched one: 409 ticket_matched.
func CancelTicket(ctx context.Context, httpBase, token, id string, opts ...RequestOption) (Ticket, error) {
	var t Ticket
	err := apiCall(ctx, http.MethodDelete, httpBase, "/v1/matchmaking/tickets/"+url.PathEscape(id), token, nil, &t, opts)
	return t, wrapAPI("cancel ticket", err)
}

// check rejects a reservation the client could not use.
func (r *Reservation) check() error {
	if r.SeatToken == "" || r.WSURL == "" || r.RoomID == "" {
		return errors.New("reservation without room_id, ws_url or seat_token")
	}
	return nil
}

// wrapAPI prefixes err with the operation; an *HTTPError is returned as it
// is, so callers can errors.As it and branch on its Code.
func wrapAPI(op string, err error) error {
	var he *HTTPError
	if err == nil || errors.As(err, &he) {
		return err
	}
	return fmt.Errorf("client: %s: %w", op, err)
}

// apiCall makes one API request with a JSON body (nil: none) and decodes a
// 2xx JSON answer into out; anything else is an *HTTPError.
func apiCall(ctx context.Context, method, httpBase, path, token string, body, out any, opts []RequestOption) error {
	var o requestOptions
	for _, f := range opts {
		f(&o)
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(httpBase, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if o.idemKey != "" {
		req.Header.Set("Idempotency-Key", o.idemKey)
	}
	hc, closeConn := o.httpClient()
	req.Close = closeConn
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return httpError(resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAPIResponse)).Decode(out); err != nil {
		return fmt.Errorf("bad response: %w", err)
	}
	// Drain what is left (a newline) so a keep-alive connection is reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	return nil
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(min(s, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
