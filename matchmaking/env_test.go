package matchmaking_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/netcode"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server/servertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const apiKey = "test-api-key-0123456789"

// env is a real tickroom server (servertest) with the matchmaking API
// mounted, and an HTTP client that validates every exchange against
// docs/openapi.yaml.
type env struct {
	*servertest.Server
	t     *testing.T
	svc   *matchmaking.Service
	clock *clockwork.FakeClock // the matchmaking service's clock (the rooms run on real time)
	hc    *http.Client
}

type envOptions struct {
	reservationTTL time.Duration
	config         func(*matchmaking.Config)
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, clock: clockwork.NewFakeClock()}
	var types []*room.Type
	for _, ao := range []arena.Options{{Pickups: true}, {}} {
		typ, err := arena.Type(ao)
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, typ)
	}
	types = append(types, lockedType)
	e.Server = servertest.New(t, servertest.Options{Types: types, ReservationTTL: o.reservationTTL,
		API: func(s *servertest.Server) (http.Handler, func()) {
			cfg := matchmaking.Config{Rooms: s.Rooms, Tokens: s.Tokens, Notify: s.Players.Send, Clock: e.clock, APIKey: apiKey,
				Modes: []matchmaking.Mode{{Name: "arena-players", MaxPlayers: 4, Teams: 2}}}
			if o.config != nil {
				o.config(&cfg)
			}
			svc, err := matchmaking.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			e.svc = svc
			return svc.Handler(), svc.Close
		}})
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	e.hc = &http.Client{Transport: validating{t: t, next: tr}, Timeout: 10 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return e
}

// lockedType is a room type whose game locks its room at once.
var lockedType = room.MustDefine(room.TypeConfig{Name: "locked", Schema: arenaSchema(), Capacity: 4},
	func(c *room.Ctx) room.Game[struct{}] { c.Lock(); return nopGame{} })

func arenaSchema() *netcode.Schema {
	s, err := netcode.NewSchema(netcode.Kind{Name: "x", Fields: []netcode.Field{{Name: "v", Type: netcode.FieldInt}}})
	if err != nil {
		panic(err)
	}
	return s
}

type nopGame struct{}

func (nopGame) Join(*room.Ctx, *room.Seat) error              { return nil }
func (nopGame) Leave(*room.Ctx, *room.Seat, room.LeaveReason) {}
func (nopGame) Input(*room.Ctx, *room.Seat, struct{})         {}
func (nopGame) Tick(*room.Ctx)                                {}
func (nopGame) Sync(*netcode.StateWriter)                     {}

// request is one API call.
type request struct {
	method, path string
	auth         string // the bearer token; "" sends no Authorization
	body         string // raw body; sent with Content-Type: application/json unless header overrides
	header       map[string]string
	contract     contract
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the body into v.
func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer %d %s: %v", r.status, r.body, err)
	}
}

// code returns the error code of an error answer.
func (r response) code(t testing.TB) string {
	var e struct{ Code, Message string }
	r.decode(t, &e)
	return e.Code
}

func (e *env) call(rq request) response {
	e.t.Helper()
	var body *strings.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(rq.method, e.URL+rq.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if rq.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.auth != "" {
		req.Header.Set("Authorization", "Bearer "+rq.auth)
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	resp, err := e.hc.Do(withContract(req, rq.contract))
	if err != nil {
		e.t.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// post sends a JSON body as player id and expects want.
func (e *env) post(id, path, body string, want int) response {
	e.t.Helper()
	r := e.call(request{method: "POST", path: path, auth: e.Token(e.t, id), body: body})
	if r.status != want {
		e.t.Fatalf("POST %s %s as %s: %d %s, want %d", path, body, id, r.status, r.body, want)
	}
	return r
}

// reservation is the Reservation schema.
type reservation struct {
	RoomID    string    `json:"room_id"`
	Mode      string    `json:"mode"`
	WSURL     string    `json:"ws_url"`
	SeatToken string    `json:"seat_token"`
	ExpiresAt time.Time `json:"expires_at"`
	Code      string    `json:"code"`
}

type ticket struct {
	TicketID    string       `json:"ticket_id"`
	Mode        string       `json:"mode"`
	Status      string       `json:"status"`
	Players     []string     `json:"players"`
	Rating      float64      `json:"rating"`
	WaitMS      int64        `json:"wait_ms"`
	Window      float64      `json:"window"`
	Team        *int         `json:"team"`
	Reservation *reservation `json:"reservation"`
}

// ---- a raw WebSocket client (the Go SDK is not used here) ----

type wsClient struct {
	t      *testing.T
	ws     *gws.Conn
	msgs   chan []byte
	closed chan error
}

type wsHandler struct {
	gws.BuiltinEventHandler
	c *wsClient
}

func (h wsHandler) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	select {
	case h.c.msgs <- append([]byte(nil), m.Bytes()...):
	default:
	}
}

func (h wsHandler) OnClose(_ *gws.Conn, err error) { h.c.closed <- err }

// dial connects as player id to url (a reservation's ws_url) and waits for welcome.
func (e *env) dial(url, id string) *wsClient {
	e.t.Helper()
	c := &wsClient{t: e.t, msgs: make(chan []byte, 4096), closed: make(chan error, 1)}
	ws, resp, err := gws.NewClient(wsHandler{c: c}, &gws.ClientOption{Addr: url,
		RequestHeader: http.Header{"Authorization": {"Bearer " + e.Token(e.t, id)}}})
	if err != nil {
		e.t.Fatalf("dial %s: %v (%v)", url, err, resp)
	}
	c.ws = ws
	go ws.ReadLoop()
	e.t.Cleanup(func() {
		_ = ws.WriteClose(1000, nil)
		select {
		case <-c.closed:
		case <-time.After(5 * time.Second):
			e.t.Error("client read loop did not end")
		}
	})
	c.next(netcode.MsgWelcome)
	return c
}

func (c *wsClient) send(b []byte) {
	c.t.Helper()
	if err := c.ws.WriteMessage(gws.OpcodeBinary, b); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next message of one of the types, skipping others.
func (c *wsClient) next(types ...netcode.MsgType) netcode.ServerMessage {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case b := <-c.msgs:
			var m netcode.ServerMessage
			if err := netcode.DecodeServer(b, &m); err != nil {
				c.t.Fatalf("undecodable message %x: %v", b, err)
			}
			for _, ty := range types {
				if m.Type == ty {
					return m
				}
			}
		case err := <-c.closed:
			c.closed <- err
			c.t.Fatalf("connection closed: %v", err)
		case <-deadline:
			c.t.Fatalf("no message of types %v", types)
		}
	}
}

// joinSeat takes a reserved seat; it returns `joined` or `error`.
func (c *wsClient) joinSeat(token string) netcode.ServerMessage {
	c.t.Helper()
	b := netcode.NewBuffer(64)
	netcode.AppendJoinSeat(b, token)
	c.send(b.B)
	return c.next(netcode.MsgJoined, netcode.MsgError)
}

// alive checks the connection still answers a ping.
func (c *wsClient) alive() {
	c.t.Helper()
	b := netcode.NewBuffer(8)
	netcode.AppendPing(b, []byte{7})
	c.send(b.B)
	c.next(netcode.MsgPong)
}

type mmConfig = matchmaking.Config
