// Package jsonapi holds the conventions every tickroom HTTP endpoint
// follows: JSON bodies of at most MaxBody bytes, decoded strictly (one
// object, no unknown fields, no trailing data), and errors answered as
// {"code", "message"} with a stable code and a message that never carries
// internals or echoes input.
package jsonapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
)

// MaxBody bounds request bodies.
const MaxBody = 64 << 10

// Error is an API error: an HTTP status, a stable code clients may branch
// on, and a message for humans.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// NewError returns an Error.
func NewError(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

// BadRequest is a 400 bad_request with msg.
func BadRequest(msg string) *Error { return NewError(http.StatusBadRequest, "bad_request", msg) }

// ReadBody checks the Content-Type (absent or application/json) and reads
// at most MaxBody bytes: 415 unsupported_media_type, 413 too_large.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, *Error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, NewError(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, NewError(http.StatusRequestEntityTooLarge, "too_large", "request body over 64 KiB")
		}
		return nil, BadRequest("could not read the request body")
	}
	return b, nil
}

// Decode strictly decodes one JSON object from body into v.
func Decode(body []byte, v any) *Error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return BadRequest("malformed JSON: body is empty")
	}
	if trimmed[0] != '{' {
		return BadRequest("malformed JSON: not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return BadRequest("malformed JSON: " + problem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return BadRequest("malformed JSON: trailing data after the object")
	}
	return nil
}

// problem describes a JSON decoding error without echoing input.
func problem(err error) string {
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

// WriteError answers e as {"code", "message"}.
func WriteError(w http.ResponseWriter, e *Error) {
	b, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{e.Code, e.Message})
	Write(w, e.Status, "", append(b, '\n'))
}

// Write answers a JSON body with status (and a Location header if set).
// API answers are never cached.
func Write(w http.ResponseWriter, status int, location string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if location != "" {
		h.Set("Location", location)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteJSON marshals v and answers it with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	Write(w, status, "", append(b, '\n'))
}
