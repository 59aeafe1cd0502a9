package netcode

import "math"

// DecodeServer decodes one server → client message (PROTOCOL §3) from b
// into m; the Go SDK uses it. b must hold exactly one msgpack array of a
// known server type with the right field count and types. A hostile
// server must not crash the client: b is pre-scanned first (every declared
// length must fit the bytes that follow, nesting at most 64 deep), and
// every failure is returned as a *ProtocolError (bad_message or
// unknown_type), never a panic.
//
// Byte slices (Schema, Changes, Created, Removed, Payload, event payloads)
// alias b. Events reuses m.Events' storage, so a caller that keeps events
// across calls must copy them. Decoding a frame allocates nothing once
// m.Events has grown to the frame's event count and the event names
// repeat (names are reused from earlier events held in m.Events' storage);
// the other types allocate their strings. Fields not used by the type are
// zeroed.
func DecodeServer(b []byte, m *ServerMessage) error {
	*m = ServerMessage{Events: m.Events[:0]}
	if len(b) == 0 {
		return protoErr(0, "empty message")
	}
	r, cnt, tv, err := openEnvelope(b, serverLimits())
	if err != nil {
		return err
	}
	var ok bool
	var lo, hi int // field counts, type included
	switch MsgType(tv) {
	case MsgWelcome, MsgError:
		lo, hi = 4, 4
	case MsgJoined:
		lo, hi = 5, 7
	case MsgResumed:
		lo, hi = 8, 8
	case MsgMatched:
		lo, hi = 6, 7
	case MsgRedirect:
		lo, hi = 3, 3
	case MsgFrame:
		lo, hi = 6, 9
	case MsgDirect, MsgLeft:
		lo, hi = 3, 3
	case MsgPong:
		lo, hi = 2, 2
	}
	if hi == 0 || tv > 255 {
		return unknownType(tv)
	}
	t := MsgType(tv)
	if cnt < lo {
		return protoFieldErr(t, "too few fields")
	}
	// Extra trailing fields are ignored: later protocol versions may add
	// some, and older clients must keep working (PROTOCOL §3).
	cnt = min(cnt, hi)
	m.Type = t

	switch t {
	case MsgWelcome:
		if m.PlayerID, err = r.serverStr(t, "player_id"); err != nil {
			return err
		}
		if m.Name, err = r.serverStr(t, "name"); err != nil {
			return err
		}
		if m.Protocol, ok = r.uint(); !ok {
			return protoFieldErr(t, "protocol must be uint")
		}
	case MsgJoined, MsgResumed:
		if m.RoomID, err = r.serverStr(t, "room_id"); err != nil {
			return err
		}
		if m.RoomType, err = r.serverStr(t, "room_type"); err != nil {
			return err
		}
		if m.TickRate, ok = r.uint(); !ok {
			return protoFieldErr(t, "tick_rate must be uint")
		}
		if m.Schema, ok = r.raw(serverLimits()); !ok {
			return protoFieldErr(t, "bad schema")
		}
		if cnt >= 6 {
			if m.History, ok = r.uint(); !ok {
				return protoFieldErr(t, "history must be uint")
			}
		}
		if cnt >= 7 {
			if m.ResumeToken, err = r.serverStr(t, "resume_token"); err != nil {
				return err
			}
		}
		if cnt >= 8 {
			if m.Recovered, ok = r.bool(); !ok {
				return protoFieldErr(t, "recovered must be bool")
			}
		}
	case MsgFrame:
		return decodeFrame(&r, cnt, m)
	case MsgMatched:
		for _, f := range []struct {
			dst  *string
			name string
		}{{&m.TicketID, "ticket_id"}, {&m.Mode, "mode"}, {&m.RoomID, "room_id"}, {&m.SeatToken, "seat_token"}} {
			if *f.dst, err = r.serverStr(t, f.name); err != nil {
				return err
			}
		}
		if m.ExpiresAt, ok = r.uint(); !ok {
			return protoFieldErr(t, "expires_at must be uint")
		}
		if cnt > 6 {
			if m.WSURL, err = r.serverStr(t, "ws_url"); err != nil {
				return err
			}
		}
	case MsgRedirect:
		if m.WSURL, err = r.serverStr(t, "ws_url"); err != nil {
			return err
		}
		if m.Ref, err = r.ref(t); err != nil {
			return err
		}
	case MsgError:
		if m.Code, err = r.serverStr(t, "code"); err != nil {
			return err
		}
		if m.Message, err = r.serverStr(t, "message"); err != nil {
			return err
		}
		if m.Ref, err = r.ref(t); err != nil {
			return err
		}
	case MsgDirect:
		if m.From, err = r.serverStr(t, "from"); err != nil {
			return err
		}
		if m.Payload, ok = r.raw(serverLimits()); !ok {
			return protoFieldErr(t, "bad payload")
		}
	case MsgLeft:
		if m.RoomID, err = r.serverStr(t, "room_id"); err != nil {
			return err
		}
		if m.Reason, err = r.serverStr(t, "reason"); err != nil {
			return err
		}
	case MsgPong:
		if m.Payload, ok = r.raw(serverLimits()); !ok {
			return protoFieldErr(t, "bad data")
		}
	}
	return nil
}

// decodeFrame decodes the fields of a frame after its type; cnt is the
// array length (6..9).
func decodeFrame(r *wireReader, cnt int, m *ServerMessage) error {
	t := MsgFrame
	var ok bool
	if m.Tick, ok = r.uint(); !ok {
		return protoFieldErr(t, "tick must be uint")
	}
	if m.Age, ok = r.uint(); !ok {
		return protoFieldErr(t, "age must be uint")
	}
	if m.InputSeq, ok = r.uint(); !ok {
		return protoFieldErr(t, "input_seq must be uint")
	}
	sum, ok := r.uint()
	if !ok || sum > math.MaxUint32 {
		return protoFieldErr(t, "checksum must be a uint32")
	}
	m.Checksum = uint32(sum)
	if m.Changes, ok = r.rawArray(); !ok {
		return protoFieldErr(t, "changes must be an array")
	}
	if cnt >= 7 {
		if m.Created, ok = r.rawArray(); !ok {
			return protoFieldErr(t, "created must be an array")
		}
	}
	if cnt >= 8 {
		if m.Removed, ok = r.rawArray(); !ok {
			return protoFieldErr(t, "removed must be an array")
		}
	}
	if cnt < 9 {
		return nil
	}
	k, ok := r.arrayLen()
	if !ok {
		return protoFieldErr(t, "events must be an array")
	}
	for i := 0; i < k; i++ {
		if l, ok := r.arrayLen(); !ok || l != 3 {
			return protoFieldErr(t, "event must be [seq, name, payload]")
		}
		var e Event
		if e.Seq, ok = r.uint(); !ok {
			return protoFieldErr(t, "event seq must be uint")
		}
		name, ok := r.str()
		if !ok {
			return protoFieldErr(t, "event name must be str")
		}
		e.Name = eventName(m.Events, name)
		if e.Payload, ok = r.raw(serverLimits()); !ok {
			return protoFieldErr(t, "bad event payload")
		}
		m.Events = append(m.Events, e)
	}
	return nil
}

// eventName returns name as a string, reusing an equal string held in
// evs' storage (the names of the events decoded so far in this frame and,
// past len(evs), of earlier frames) so that recurring names do not
// allocate. The search is bounded to keep decoding O(len(b)).
func eventName(evs []Event, name []byte) string {
	all := evs[:cap(evs)]
	if i := len(evs); i < len(all) && all[i].Name == string(name) {
		return all[i].Name // same slot as in an earlier frame
	}
	for j := 0; j < len(all) && j < 8; j++ {
		if all[j].Name == string(name) {
			return all[j].Name
		}
	}
	return string(name)
}

// serverStr reads a str field of a server message.
func (r *wireReader) serverStr(t MsgType, field string) (string, error) {
	s, ok := r.str()
	if !ok {
		return "", protoFieldErr(t, field+" must be str")
	}
	return string(s), nil
}

// rawArray reads one array value and returns its bytes.
func (r *wireReader) rawArray() ([]byte, bool) {
	if !r.isArray() {
		return nil, false
	}
	return r.raw(serverLimits())
}

// ref reads the ref field of error and redirect: a message type.
func (r *wireReader) ref(t MsgType) (MsgType, error) {
	v, ok := r.uint()
	if !ok || v > 255 {
		return 0, protoFieldErr(t, "ref must be a uint ≤ 255")
	}
	return MsgType(v), nil
}
