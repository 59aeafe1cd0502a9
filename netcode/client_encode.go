package netcode

// Client → server encoders (PROTOCOL §2), for the Go SDK and tests. Each
// appends exactly one message to b.B in the smallest encoding and does not
// allocate once b.B has grown. Raw payload arguments must each hold exactly
// one msgpack value (they are copied as they are, not validated); a nil or
// empty payload is written as msgpack nil.

// AppendJoin appends [1, roomType, roomID]; roomID is omitted when empty.
func AppendJoin(b *Buffer, roomType, roomID string) {
	e := b.Enc()
	if roomID == "" {
		_ = e.EncodeArrayLen(2)
	} else {
		_ = e.EncodeArrayLen(3)
	}
	_ = e.EncodeUint(uint64(MsgJoin))
	_ = e.EncodeString(roomType)
	if roomID != "" {
		_ = e.EncodeString(roomID)
	}
}

// AppendInput appends [2, seq, payload, ack]; ack is omitted when 0.
func AppendInput(b *Buffer, seq uint64, payload []byte, ack uint64) {
	e := b.Enc()
	if ack == 0 {
		_ = e.EncodeArrayLen(3)
	} else {
		_ = e.EncodeArrayLen(4)
	}
	_ = e.EncodeUint(uint64(MsgInput))
	_ = e.EncodeUint(seq)
	appendRaw(b, payload)
	if ack != 0 {
		_ = e.EncodeUint(ack)
	}
}

// AppendAck appends [3, tick].
func AppendAck(b *Buffer, tick uint64) {
	e := b.Enc()
	_ = e.EncodeArrayLen(2)
	_ = e.EncodeUint(uint64(MsgAck))
	_ = e.EncodeUint(tick)
}

// AppendLeave appends [4].
func AppendLeave(b *Buffer) {
	e := b.Enc()
	_ = e.EncodeArrayLen(1)
	_ = e.EncodeUint(uint64(MsgLeave))
}

// AppendMsg appends [5, to, payload].
func AppendMsg(b *Buffer, to string, payload []byte) {
	e := b.Enc()
	_ = e.EncodeArrayLen(3)
	_ = e.EncodeUint(uint64(MsgMsg))
	_ = e.EncodeString(to)
	appendRaw(b, payload)
}

// AppendPing appends [6, data], or [6] when data is nil or empty.
func AppendPing(b *Buffer, data []byte) {
	e := b.Enc()
	if len(data) == 0 {
		_ = e.EncodeArrayLen(1)
		_ = e.EncodeUint(uint64(MsgPing))
		return
	}
	_ = e.EncodeArrayLen(2)
	_ = e.EncodeUint(uint64(MsgPing))
	appendRaw(b, data)
}

// appendRaw appends one raw msgpack value, or msgpack nil when v is empty.
func appendRaw(b *Buffer, v []byte) {
	if len(v) == 0 {
		_ = b.Enc().EncodeNil()
		return
	}
	b.B = append(b.B, v...)
}

// AppendResume appends [7, token, lastTick, lastEventSeq].
func AppendResume(b *Buffer, token string, lastTick, lastEventSeq uint64) {
	e := b.Enc()
	_ = e.EncodeArrayLen(4)
	_ = e.EncodeUint(uint64(MsgResume))
	_ = e.EncodeString(token)
	_ = e.EncodeUint(lastTick)
	_ = e.EncodeUint(lastEventSeq)
}

// AppendJoinSeat appends [1, "", "", seatToken]: take a reserved seat.
func AppendJoinSeat(b *Buffer, seatToken string) {
	e := b.Enc()
	_ = e.EncodeArrayLen(4)
	_ = e.EncodeUint(uint64(MsgJoin))
	_ = e.EncodeString("")
	_ = e.EncodeString("")
	_ = e.EncodeString(seatToken)
}
