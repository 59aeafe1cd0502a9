package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tickroom/tickroom/internal/jsonapi"
	"github.com/tickroom/tickroom/player"
)

type guestRequest struct {
	Name string `json:"name"`
}

type guestResponse struct {
	Token    string `json:"token"`
	PlayerID string `json:"player_id"`
}

// serveGuest mints a token for a new guest player: POST /v1/auth/guest
// {"name": "..."} → {"token", "player_id"}.
func (s *Server) serveGuest(w http.ResponseWriter, r *http.Request) {
	var req guestRequest
	body, e := jsonapi.ReadBody(w, r)
	if e == nil {
		e = jsonapi.Decode(body, &req)
	}
	if e != nil {
		jsonapi.WriteError(w, e)
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" {
		req.Name = "guest"
	}
	id := player.NewGuestID()
	tok, err := s.cfg.Tokens.Mint(id, req.Name)
	if errors.Is(err, player.ErrBadName) {
		writeError(w, http.StatusBadRequest, "bad_request", "name must be valid UTF-8 of at most 32 bytes")
		return
	}
	if err != nil {
		s.log.Error("minting a guest token", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	jsonapi.WriteJSON(w, http.StatusOK, guestResponse{Token: tok, PlayerID: string(id)})
}
