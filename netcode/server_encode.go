package netcode

// Server → client encoders (PROTOCOL §3). Each appends to b.B in the
// smallest encoding and does not allocate once b.B has grown. Raw value
// arguments (schema, payloads) must each hold exactly one msgpack value;
// they are copied as they are, and nil or empty is written as msgpack nil.

// AppendWelcome appends [101, playerID, name, ProtocolVersion].
func AppendWelcome(b *Buffer, playerID, name string) {
	e := b.Enc()
	_ = e.EncodeArrayLen(4)
	_ = e.EncodeUint(uint64(MsgWelcome))
	_ = e.EncodeString(playerID)
	_ = e.EncodeString(name)
	_ = e.EncodeUint(ProtocolVersion)
}

// SeatInfo is what `joined` and `resumed` tell a client about its seat.
type SeatInfo struct {
	RoomID, RoomType string
	TickRate         int    // Hz
	History          int    // ticks kept as delta baselines
	Schema           []byte // the raw schema value (PROTOCOL §4)
	ResumeToken      string
}

// AppendJoined appends [102, room_id, room_type, tick_rate, schema,
// history, resume_token]. Negative numbers are written as 0.
func AppendJoined(b *Buffer, s SeatInfo) {
	_ = b.Enc().EncodeArrayLen(7)
	appendSeat(b, MsgJoined, s)
}

// AppendResumed appends [108, room_id, room_type, tick_rate, schema,
// history, resume_token, recovered].
func AppendResumed(b *Buffer, s SeatInfo, recovered bool) {
	_ = b.Enc().EncodeArrayLen(8)
	appendSeat(b, MsgResumed, s)
	_ = b.Enc().EncodeBool(recovered)
}

func appendSeat(b *Buffer, t MsgType, s SeatInfo) {
	e := b.Enc()
	_ = e.EncodeUint(uint64(t))
	_ = e.EncodeString(s.RoomID)
	_ = e.EncodeString(s.RoomType)
	_ = e.EncodeUint(uint64(max(s.TickRate, 0)))
	appendRaw(b, s.Schema)
	_ = e.EncodeUint(uint64(max(s.History, 0)))
	_ = e.EncodeString(s.ResumeToken)
}

// AppendError appends [104, code, message, ref]. code is one of the Code
// constants; message must be safe to show to the client.
func AppendError(b *Buffer, code, message string, ref MsgType) {
	e := b.Enc()
	_ = e.EncodeArrayLen(4)
	_ = e.EncodeUint(uint64(MsgError))
	_ = e.EncodeString(code)
	_ = e.EncodeString(message)
	_ = e.EncodeUint(uint64(ref))
}

// AppendDirect appends the server → client msg [105, from, payload].
func AppendDirect(b *Buffer, from string, payload []byte) {
	e := b.Enc()
	_ = e.EncodeArrayLen(3)
	_ = e.EncodeUint(uint64(MsgDirect))
	_ = e.EncodeString(from)
	appendRaw(b, payload)
}

// AppendLeft appends [106, roomID, reason]; reason is "leave", "kicked" or
// "closed".
func AppendLeft(b *Buffer, roomID, reason string) {
	e := b.Enc()
	_ = e.EncodeArrayLen(3)
	_ = e.EncodeUint(uint64(MsgLeft))
	_ = e.EncodeString(roomID)
	_ = e.EncodeString(reason)
}

// AppendPong appends [107, data]; nil data is written as msgpack nil.
func AppendPong(b *Buffer, data []byte) {
	e := b.Enc()
	_ = e.EncodeArrayLen(2)
	_ = e.EncodeUint(uint64(MsgPong))
	appendRaw(b, data)
}

// AppendFrameHead appends the start of a frame (PROTOCOL §5): an array
// header for fields elements in total, then 103, tick, age, inputSeq and
// checksum. The caller then appends the remaining fields-5 values in order:
// changes, and created, removed, events as announced by fields. fields
// must be 6..9; AppendFrameHead panics otherwise (a programming error that
// would produce an undecodable frame).
func AppendFrameHead(b *Buffer, fields int, tick, age, inputSeq uint64, checksum uint32) {
	if fields < 6 || fields > 9 {
		panic("netcode: AppendFrameHead: fields must be 6..9")
	}
	e := b.Enc()
	_ = e.EncodeArrayLen(fields)
	_ = e.EncodeUint(uint64(MsgFrame))
	_ = e.EncodeUint(tick)
	_ = e.EncodeUint(age)
	_ = e.EncodeUint(inputSeq)
	_ = e.EncodeUint(uint64(checksum))
}

// AppendEvents appends the events array of a frame (PROTOCOL §6):
// [[seq, name, payload], ...]. A nil payload is written as msgpack nil.
func AppendEvents(b *Buffer, events []Event) {
	e := b.Enc()
	_ = e.EncodeArrayLen(len(events))
	for i := range events {
		ev := &events[i]
		_ = e.EncodeArrayLen(3)
		_ = e.EncodeUint(ev.Seq)
		_ = e.EncodeString(ev.Name)
		appendRaw(b, ev.Payload)
	}
}

// AppendMatched appends [109, ticketID, mode, roomID, seatToken, expiresAtMillis].
func AppendMatched(b *Buffer, ticketID, mode, roomID, seatToken string, expiresAtMillis uint64, wsURL string) {
	e := b.Enc()
	if wsURL != "" {
		_ = e.EncodeArrayLen(7)
	} else {
		_ = e.EncodeArrayLen(6)
	}
	_ = e.EncodeUint(uint64(MsgMatched))
	_ = e.EncodeString(ticketID)
	_ = e.EncodeString(mode)
	_ = e.EncodeString(roomID)
	_ = e.EncodeString(seatToken)
	_ = e.EncodeUint(expiresAtMillis)
	if wsURL != "" {
		_ = e.EncodeString(wsURL)
	}
}

// AppendRedirect appends redirect: the request ref (join or resume) must
// be made again at wsURL, the node that runs the room.
func AppendRedirect(b *Buffer, wsURL string, ref MsgType) {
	e := b.Enc()
	_ = e.EncodeArrayLen(3)
	_ = e.EncodeUint(uint64(MsgRedirect))
	_ = e.EncodeString(wsURL)
	_ = e.EncodeUint(uint64(ref))
}
