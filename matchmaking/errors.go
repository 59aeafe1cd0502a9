package matchmaking

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/tickroom/tickroom/internal/jsonapi"
	"github.com/tickroom/tickroom/room"
)

// Error is an API error: an HTTP status, a stable code clients may branch
// on, and a message for humans that never carries internals.
type Error = jsonapi.Error

var (
	apiErr     = jsonapi.NewError
	badRequest = jsonapi.BadRequest
)

// Errors answered in more than one place.
var (
	errUnauthorized   = apiErr(http.StatusUnauthorized, "unauthorized", "missing or invalid bearer token")
	errShuttingDown   = apiErr(http.StatusServiceUnavailable, "shutting_down", "the server is shutting down")
	errTicketNotFound = apiErr(http.StatusNotFound, "ticket_not_found", "no such ticket")
	errUnavailable    = apiErr(http.StatusServiceUnavailable, "unavailable", "matchmaking is unavailable; retry in a moment")
	errInternal       = apiErr(http.StatusInternalServerError, "internal", "internal error")
)

// writeError answers e; an unavailable store is retried after a second.
func writeError(w http.ResponseWriter, e *Error) {
	if e == errUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	jsonapi.WriteError(w, e)
}

// errorFor maps any error to the API error sent for it. It is the one place
// where errors of the rooms become HTTP statuses; anything unexpected is
// internal (the caller logs it).
func errorFor(err error) (e *Error, expected bool) {
	var ae *Error
	var exists *TicketExistsError
	switch {
	case errors.As(err, &ae):
		return ae, true
	case errors.As(err, &exists):
		return apiErr(http.StatusConflict, "ticket_exists", fmt.Sprintf("player %s already has a queued ticket in mode %s", exists.Player, exists.Mode)), true
	case errors.Is(err, ErrTicketNotFound):
		return errTicketNotFound, true
	case errors.Is(err, room.ErrUnavailable), errors.Is(err, ErrUnavailable):
		return errUnavailable, true
	case errors.Is(err, room.ErrUnknownType):
		return apiErr(http.StatusNotFound, "unknown_mode", "no such mode"), true
	case errors.Is(err, room.ErrRoomNotFound):
		return apiErr(http.StatusNotFound, "room_not_found", "no such room"), true
	case errors.Is(err, room.ErrRoomFull):
		return apiErr(http.StatusConflict, "room_full", "the room has not enough free seats"), true
	case errors.Is(err, room.ErrRoomLocked):
		return apiErr(http.StatusConflict, "room_locked", "the room is locked by the game"), true
	case errors.Is(err, room.ErrClosed):
		return errShuttingDown, true
	default:
		return errInternal, false
	}
}
