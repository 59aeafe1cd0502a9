package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

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
//
// It is rate-limited per client address (Config.GuestPerIP) and in total
// (Config.GuestTotal): beyond, 429 with Retry-After.
func (s *Server) serveGuest(w http.ResponseWriter, r *http.Request) {
	if wait, scope := s.guests.allow(clientIP(r), time.Now()); wait > 0 {
		s.metrics.rateLimited("guest")
		w.Header().Set("Retry-After", retryAfter(wait))
		msg := "too many guest tokens requested from this address: retry later"
		if scope == "total" {
			msg = "too many guest tokens requested: retry later"
		}
		writeError(w, http.StatusTooManyRequests, "rate_limited", msg)
		return
	}
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
