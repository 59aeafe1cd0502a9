package matchmaking

import (
	"net/http"
	"strings"
	"time"

	"github.com/tickroom/tickroom/room"
)

// reservationJSON is a seat reservation on the wire (openapi.yaml Reservation).
type reservationJSON struct {
	RoomID    string    `json:"room_id"`
	Mode      string    `json:"mode"`
	WSURL     string    `json:"ws_url"`
	SeatToken string    `json:"seat_token"`
	ExpiresAt time.Time `json:"expires_at"`
	Code      string    `json:"code,omitempty"`
}

// resJSON renders a reservation: its ws_url is the owning node's when the
// room lives on another node (res.WSURL), else this server's (wsURL).
func (s *Service) resJSON(r *http.Request, res room.Reservation) reservationJSON {
	ws := res.WSURL
	if ws == "" {
		ws = s.wsURL(r)
	}
	return reservationJSON{RoomID: res.RoomID, Mode: res.RoomType, WSURL: ws, SeatToken: res.SeatToken,
		ExpiresAt: res.ExpiresAt.UTC(), Code: res.Code}
}

// reserved answers one reservation; an Idempotency-Key replays it until it expires.
func (s *Service) reserved(r *http.Request, res room.Reservation, err error) (reply, error) {
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, v: s.resJSON(r, res), until: res.ExpiresAt}, nil
}

func (s *Service) knownMode(mode string) error {
	if err := checkMode(mode); err != nil {
		return err
	}
	if !s.cfg.Rooms.HasType(mode) {
		return room.ErrUnknownType
	}
	return nil
}

// joinOrCreate: POST /v1/matchmake/join-or-create {mode, filters}.
func (s *Service) joinOrCreate(r *http.Request, c caller, body []byte) (reply, error) {
	var req struct {
		Mode    string            `json:"mode"`
		Filters map[string]string `json:"filters"`
	}
	if err := decode(body, &req); err != nil {
		return reply{}, err
	}
	if err := checkMap("filters", req.Filters); err != nil {
		return reply{}, err
	}
	if err := s.knownMode(req.Mode); err != nil {
		return reply{}, err
	}
	res, err := s.cfg.Rooms.Reserve(r.Context(), c.player, room.Selector{Type: req.Mode, Filters: req.Filters})
	return s.reserved(r, res, err)
}

// create: POST /v1/matchmake/create {mode, private, metadata}.
func (s *Service) create(r *http.Request, c caller, body []byte) (reply, error) {
	var req struct {
		Mode     string            `json:"mode"`
		Private  bool              `json:"private"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := decode(body, &req); err != nil {
		return reply{}, err
	}
	if err := checkMap("metadata", req.Metadata); err != nil {
		return reply{}, err
	}
	if err := s.knownMode(req.Mode); err != nil {
		return reply{}, err
	}
	meta := req.Metadata
	if meta == nil {
		meta = map[string]string{} // not the filters' default: a created room has what it was given
	}
	res, err := s.cfg.Rooms.Reserve(r.Context(), c.player, room.Selector{Type: req.Mode, Create: true, Private: req.Private, Metadata: meta})
	return s.reserved(r, res, err)
}

// join: POST /v1/matchmake/join {room_id | code}.
func (s *Service) join(r *http.Request, c caller, body []byte) (reply, error) {
	var req struct {
		RoomID string `json:"room_id"`
		Code   string `json:"code"`
	}
	if err := decode(body, &req); err != nil {
		return reply{}, err
	}
	if (req.RoomID == "") == (req.Code == "") {
		return reply{}, badRequest("give exactly one of room_id and code")
	}
	if len(req.RoomID) > 64 || len(req.Code) > 16 {
		return reply{}, badRequest("room_id is at most 64 bytes, code at most 16")
	}
	res, err := s.cfg.Rooms.Reserve(r.Context(), c.player, room.Selector{RoomID: req.RoomID, Code: strings.ToUpper(req.Code)})
	return s.reserved(r, res, err)
}

// roomJSON is a listed room (openapi.yaml RoomInfo).
type roomJSON struct {
	RoomID   string            `json:"room_id"`
	Mode     string            `json:"mode"`
	Players  int               `json:"players"`
	Capacity int               `json:"capacity"`
	Locked   bool              `json:"locked"`
	Metadata map[string]string `json:"metadata"`
	Node     string            `json:"node,omitempty"`     // the owning node (clusters)
	WSURL    string            `json:"ws_url,omitempty"`   // the owning node's WebSocket URL, if known
	Draining bool              `json:"draining,omitempty"` // the owning node is shutting down
}

// listRooms: GET /v1/rooms?mode=.
func (s *Service) listRooms(r *http.Request, _ caller, _ []byte) (reply, error) {
	mode := r.URL.Query().Get("mode")
	if mode != "" {
		if err := s.knownMode(mode); err != nil {
			return reply{}, err
		}
	}
	rooms := []roomJSON{}
	infos, err := s.cfg.Rooms.List(r.Context(), mode)
	if err != nil {
		return reply{}, err
	}
	for _, info := range infos {
		if info.Private {
			continue // List promises public rooms; a fake might not
		}
		meta := info.Metadata
		if meta == nil {
			meta = map[string]string{}
		}
		rooms = append(rooms, roomJSON{RoomID: info.ID, Mode: info.Type, Players: info.Players, Capacity: info.Capacity,
			Locked: info.Locked || info.Players >= info.Capacity, Metadata: meta, Node: info.Node, WSURL: info.WSURL,
			Draining: info.Draining})
	}
	return reply{status: http.StatusOK, v: struct {
		Rooms []roomJSON `json:"rooms"`
	}{rooms}}, nil
}
