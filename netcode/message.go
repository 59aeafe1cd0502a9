package netcode

// ProtocolVersion is the wire protocol version sent in welcome
// (docs/PROTOCOL.md §3).
const ProtocolVersion = 1

// MsgType is the first element of every message array: the message type
// (docs/PROTOCOL.md §2 and §3).
type MsgType uint8

// Client → server message types (PROTOCOL §2).
const (
	MsgJoin   MsgType = 1
	MsgInput  MsgType = 2
	MsgAck    MsgType = 3
	MsgLeave  MsgType = 4
	MsgMsg    MsgType = 5
	MsgPing   MsgType = 6
	MsgResume MsgType = 7
)

// Server → client message types (PROTOCOL §3).
const (
	MsgWelcome  MsgType = 101
	MsgJoined   MsgType = 102
	MsgFrame    MsgType = 103
	MsgError    MsgType = 104
	MsgDirect   MsgType = 105 // "msg" server → client
	MsgLeft     MsgType = 106
	MsgPong     MsgType = 107
	MsgResumed  MsgType = 108
	MsgMatched  MsgType = 109
	MsgRedirect MsgType = 110 // the request must go to another node
)

// String returns the protocol name of t ("join", "frame", ...), or "type"
// for an unknown type.
func (t MsgType) String() string {
	switch t {
	case MsgJoin:
		return "join"
	case MsgInput:
		return "input"
	case MsgAck:
		return "ack"
	case MsgLeave:
		return "leave"
	case MsgMsg, MsgDirect:
		return "msg"
	case MsgPing:
		return "ping"
	case MsgWelcome:
		return "welcome"
	case MsgJoined:
		return "joined"
	case MsgFrame:
		return "frame"
	case MsgError:
		return "error"
	case MsgLeft:
		return "left"
	case MsgPong:
		return "pong"
	case MsgResume:
		return "resume"
	case MsgResumed:
		return "resumed"
	case MsgMatched:
		return "matched"
	case MsgRedirect:
		return "redirect"
	}
	return "type"
}

// Limits on client messages (PROTOCOL §8).
const (
	// MaxClientMessage is the largest client message in bytes.
	MaxClientMessage = 16 << 10
	// MaxDepth is the deepest nesting of arrays/maps allowed in a client
	// value (a scalar has depth 0, [1] depth 1, [[1]] depth 2). For a
	// whole message it applies to each field (payload), not counting the
	// message array itself.
	MaxDepth = 8
	// MaxElements is the largest number of elements of a client array, or
	// of key/value pairs of a client map.
	MaxElements = 256
	// MaxStringLen is the largest client str/bin in bytes.
	MaxStringLen = 4 << 10
)

// Error codes of the error message (PROTOCOL §7).
const (
	CodeBadMessage      = "bad_message"
	CodeUnknownType     = "unknown_type"
	CodeUnknownRoomType = "unknown_room_type"
	CodeRoomNotFound    = "room_not_found"
	CodeRoomFull        = "room_full"
	CodeRoomLocked      = "room_locked"
	CodeAlreadyInRoom   = "already_in_room"
	CodeJoinRejected    = "join_rejected"
	CodeNotInRoom       = "not_in_room"
	CodePlayerOffline   = "player_offline"
	CodeSeatInvalid     = "seat_invalid"
	CodeSeatExpired     = "seat_expired"
	CodeResumeExpired   = "resume_expired"
	CodeResumeRejected  = "resume_rejected"
	CodeThrottled       = "throttled"
	CodeInternal        = "internal"
	CodeUnavailable     = "unavailable" // the cluster's store cannot be reached: retry later
	CodeRoomGone        = "room_gone"   // the node that ran the seat's room is gone: join again
)

// ProtocolError is the error returned for undecodable bytes. Code is a
// PROTOCOL §7 code (bad_message or unknown_type from the decoders), Message
// is human-readable and safe to send to the peer (it names the problem,
// never internals), and Ref is the type of the offending message, 0 when
// the type could not be read.
type ProtocolError struct {
	Code    string
	Message string
	Ref     MsgType
}

// Error implements error.
func (e *ProtocolError) Error() string {
	return "netcode: " + e.Code + ": " + e.Message
}

// Event is one room event carried in a frame (PROTOCOL §6).
type Event struct {
	Seq  uint64
	Name string
	// Payload is one raw msgpack value; nil encodes as msgpack nil. Decoded
	// events alias the decoded buffer.
	Payload []byte
}

// ClientMessage is a decoded client → server message. Byte slices alias
// the decoded buffer; strings are copies.
type ClientMessage struct {
	Type     MsgType
	RoomType string // join
	RoomID   string // join; "" when absent
	Seq      uint64 // input
	Ack      uint64 // input (optional trailing ack, 0 when absent), ack (the tick), resume (last_tick)
	To       string // msg
	Token    string // resume: the resume token; join: the seat token ("" when absent)
	EventSeq uint64 // resume: last_event_seq
	// Payload is the raw msgpack value of input, msg and ping, validated
	// against the client limits; nil when absent (ping without data).
	Payload []byte
}

// ServerMessage is a decoded server → client message (client side). Byte
// slices alias the decoded buffer. Fields not used by Type are zero.
type ServerMessage struct {
	Type MsgType

	// welcome
	PlayerID, Name string
	Protocol       uint64

	// joined (RoomID, RoomType, TickRate, Schema, History) and left (RoomID).
	RoomID, RoomType string
	TickRate         uint64
	Schema           []byte // raw msgpack value
	History          uint64 // ticks the room keeps as baselines; 0 if not sent
	ResumeToken      string // joined, resumed
	Recovered        bool   // resumed

	// matched (also RoomID, and WSURL when the room is on another node)
	TicketID, Mode, SeatToken string
	ExpiresAt                 uint64 // Unix milliseconds

	// redirect (also Ref: the request to repeat there) and matched
	WSURL string

	// frame
	Tick, Age, InputSeq uint64
	Checksum            uint32
	// Changes, Created, Removed are raw msgpack arrays; Created and
	// Removed are nil when absent (meaning empty).
	Changes, Created, Removed []byte
	// Events are the frame's events; empty when absent. DecodeServer
	// reuses this slice's storage.
	Events []Event

	// error
	Code, Message string
	Ref           MsgType

	// msg (MsgDirect) and pong
	From    string
	Payload []byte // raw msgpack value

	// left
	Reason string
}

// errorf-free constructors: messages are built by concatenation so that
// only the error path allocates.

func protoErr(t MsgType, msg string) *ProtocolError {
	return &ProtocolError{Code: CodeBadMessage, Message: msg, Ref: t}
}

// protoFieldErr reports a problem with a field of a message of type t:
// "input: seq must be uint".
func protoFieldErr(t MsgType, msg string) *ProtocolError {
	return &ProtocolError{Code: CodeBadMessage, Message: t.String() + ": " + msg, Ref: t}
}
