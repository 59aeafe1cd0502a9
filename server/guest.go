package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/tickroom/tickroom/player"
)

// maxAPIBody bounds JSON request bodies.
const maxAPIBody = 64 << 10

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
	if status, code, msg := decodeJSON(w, r, &req); status != 0 {
		writeError(w, status, code, msg)
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
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(guestResponse{Token: tok, PlayerID: string(id)})
}

// decodeJSON strictly decodes one JSON object from the body. On failure it
// returns the HTTP status, error code and message to send.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) (int, string, string) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json"
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return http.StatusRequestEntityTooLarge, "too_large", "request body over 64 KiB"
		}
		return http.StatusBadRequest, "bad_request", "malformed JSON: " + jsonProblem(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return http.StatusBadRequest, "bad_request", "malformed JSON: trailing data after the object"
	}
	return 0, "", ""
}

// jsonProblem describes a JSON decoding error without echoing input.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "syntax error"
	case errors.As(err, &typ):
		return "field " + typ.Field + " has the wrong type"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "body is empty or truncated"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ")
	default:
		return "not a JSON object"
	}
}
