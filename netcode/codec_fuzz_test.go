package netcode

import (
	"bytes"
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// codecFuzzSeeds adds the golden wire vectors, every hostile pre-scan row
// (alone and inside client and server message fields) and a few edge cases.
func codecFuzzSeeds(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join(codecWireDir, "*.hex"))
	if err != nil {
		f.Fatal(err)
	}
	if len(paths) == 0 {
		f.Fatalf("no golden vectors in %s", codecWireDir)
	}
	for _, p := range paths {
		b, err := codecReadHex(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, r := range codecHostileRows() {
		f.Add(r.in)
		if len(r.in) > 1024 {
			continue // alone is enough for the 1 MB nest
		}
		f.Add(codecCat(codecHex("93 02 01"), r.in))                                  // input payload
		f.Add(codecCat(codecHex("93 05 a1 62"), r.in))                               // msg payload
		f.Add(codecCat(codecHex("92 01"), r.in))                                     // join room_type
		f.Add(codecCat(codecHex("96 67 01 01 01 01"), r.in))                         // frame changes
		f.Add(codecCat(codecHex("99 67 01 01 01 01 90 90 90 91 93 01 a1 61"), r.in)) // event payload
	}
	f.Add([]byte{})
	f.Add(codecHex("91 63"))
	f.Add(codecHex("94 02 01 c0 00"))
	f.Add(codecHex("93 01 a0 a0"))
	f.Add(codecHex("93 02 d3 7f ff ff ff ff ff ff ff c0"))
}

func FuzzCheckValue(f *testing.F) {
	codecFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := CheckValue(data)
		if err != nil {
			if n != 0 {
				t.Fatalf("CheckValue = %d, %v; want 0 on error", n, err)
			}
			return
		}
		if n <= 0 || n > len(data) {
			t.Fatalf("CheckValue = %d for %d bytes", n, len(data))
		}
		v := data[:n]
		if n2, err := CheckValue(v); err != nil || n2 != n {
			t.Fatalf("CheckValue(value) = %d, %v; want %d, nil", n2, err, n)
		}
		// msgpack is prefix-free: a proper prefix is never a whole value.
		if n2, err := CheckValue(v[:n-1]); err == nil {
			t.Fatalf("CheckValue(prefix of %d bytes) = %d, nil; want error", n-1, n2)
		}
		// Differential check: once validated, msgpack itself must be able
		// to walk the value and must consume exactly n bytes.
		r := bytes.NewReader(data)
		if err := msgpack.NewDecoder(r).Skip(); err != nil {
			t.Fatalf("msgpack Skip of validated value % x: %v", v, err)
		}
		if used := len(data) - r.Len(); used != n {
			t.Fatalf("msgpack consumed %d bytes; CheckValue said %d", used, n)
		}
	})
}

// codecReencodeClient encodes m with the Append* encoders.
func codecReencodeClient(m *ClientMessage) []byte {
	b := NewBuffer(64)
	switch m.Type {
	case MsgJoin:
		if m.Token != "" {
			AppendJoinSeat(b, m.Token)
			if m.RoomType != "" || m.RoomID != "" { // not what AppendJoinSeat writes: encode by hand
				b.Reset()
				_ = b.Enc().EncodeArrayLen(4)
				_ = b.Enc().EncodeUint(uint64(MsgJoin))
				_ = b.Enc().EncodeString(m.RoomType)
				_ = b.Enc().EncodeString(m.RoomID)
				_ = b.Enc().EncodeString(m.Token)
			}
		} else {
			AppendJoin(b, m.RoomType, m.RoomID)
		}
	case MsgInput:
		AppendInput(b, m.Seq, m.Payload, m.Ack)
	case MsgAck:
		AppendAck(b, m.Ack)
	case MsgLeave:
		AppendLeave(b)
	case MsgMsg:
		AppendMsg(b, m.To, m.Payload)
	case MsgPing:
		AppendPing(b, m.Payload)
	case MsgResume:
		AppendResume(b, m.Token, m.Ack, m.EventSeq)
	}
	return b.B
}

func FuzzDecodeClient(f *testing.F) {
	codecFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var m ClientMessage
		err := DecodeClient(data, &m)
		if err != nil {
			pe, ok := err.(*ProtocolError)
			if !ok || (pe.Code != CodeBadMessage && pe.Code != CodeUnknownType) || pe.Message == "" {
				t.Fatalf("DecodeClient error %#v; want *ProtocolError bad_message/unknown_type", err)
			}
			return
		}
		if len(data) > MaxClientMessage {
			t.Fatalf("accepted %d bytes", len(data))
		}
		for _, p := range [][]byte{m.Payload} {
			if p == nil {
				continue
			}
			if n, err := CheckValue(p); err != nil || n != len(p) {
				t.Fatalf("payload % x: CheckValue = %d, %v", p, n, err)
			}
		}
		re := codecReencodeClient(&m)
		if len(re) > len(data) {
			t.Fatalf("re-encoding grew: % x -> % x", data, re)
		}
		var m2 ClientMessage
		if err := DecodeClient(re, &m2); err != nil {
			t.Fatalf("re-encoded % x (from % x): %v", re, data, err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip differs:\n  %+v\n  %+v", m, m2)
		}
	})
}

// codecReencodeServer encodes m with the server Append* encoders.
func codecReencodeServer(m *ServerMessage) []byte {
	b := NewBuffer(64)
	switch m.Type {
	case MsgWelcome:
		AppendWelcome(b, m.PlayerID, m.Name)
	case MsgMatched:
		AppendMatched(b, m.TicketID, m.Mode, m.RoomID, m.SeatToken, m.ExpiresAt, m.WSURL)
	case MsgRedirect:
		AppendRedirect(b, m.WSURL, m.Ref)
	case MsgJoined, MsgResumed:
		tr := int(m.TickRate)
		if m.TickRate > math.MaxInt64 {
			tr = 0
		}
		s := SeatInfo{RoomID: m.RoomID, RoomType: m.RoomType, TickRate: tr, History: int(min(m.History, 1<<30)), Schema: m.Schema, ResumeToken: m.ResumeToken}
		if m.Type == MsgResumed {
			AppendResumed(b, s, m.Recovered)
		} else {
			AppendJoined(b, s)
		}
	case MsgFrame:
		fields := 6
		switch {
		case len(m.Events) > 0:
			fields = 9
		case m.Removed != nil:
			fields = 8
		case m.Created != nil:
			fields = 7
		}
		AppendFrameHead(b, fields, m.Tick, m.Age, m.InputSeq, m.Checksum)
		b.B = append(b.B, m.Changes...)
		if fields >= 7 {
			b.B = append(b.B, m.Created...)
		}
		if fields >= 8 {
			b.B = append(b.B, m.Removed...)
		}
		if fields == 9 {
			AppendEvents(b, m.Events)
		}
	case MsgError:
		AppendError(b, m.Code, m.Message, m.Ref)
	case MsgDirect:
		AppendDirect(b, m.From, m.Payload)
	case MsgLeft:
		AppendLeft(b, m.RoomID, m.Reason)
	case MsgPong:
		AppendPong(b, m.Payload)
	}
	return b.B
}

func FuzzDecodeServer(f *testing.F) {
	codecFuzzSeeds(f)
	var m ServerMessage // reused across inputs, as a client does
	f.Fuzz(func(t *testing.T, data []byte) {
		err := DecodeServer(data, &m)
		if err != nil {
			pe, ok := err.(*ProtocolError)
			if !ok || (pe.Code != CodeBadMessage && pe.Code != CodeUnknownType) || pe.Message == "" {
				t.Fatalf("DecodeServer error %#v; want *ProtocolError bad_message/unknown_type", err)
			}
			return
		}
		re := codecReencodeServer(&m)
		var m2 ServerMessage
		if err := DecodeServer(re, &m2); err != nil {
			t.Fatalf("re-encoded % x (from % x): %v", re, data, err)
		}
		want := codecNormServer(m)
		if want.Type == MsgWelcome {
			want.Protocol = ProtocolVersion // AppendWelcome always writes 1
		}
		if want.Type == MsgJoined && want.TickRate > math.MaxInt64 {
			want.TickRate = 0
		}
		if got := codecNormServer(m2); !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip differs:\n  %+v\n  %+v", want, got)
		}
	})
}
