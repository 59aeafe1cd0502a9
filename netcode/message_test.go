package netcode

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var codecUpdate = flag.Bool("update", false, "rewrite the golden wire vectors in ../testdata/wire")

// codecWireDir holds the golden wire vectors, shared with docs/PROTOCOL.md.
const codecWireDir = "../testdata/wire"

// codecEnc returns the bytes written by f into a fresh Buffer.
func codecEnc(f func(b *Buffer)) []byte {
	b := NewBuffer(64)
	f(b)
	return b.B
}

// codecArenaInput is the arena input payload [0.5, -1] as two float32.
func codecArenaInput(dx, dy float32) []byte {
	return codecEnc(func(b *Buffer) {
		_ = b.Enc().EncodeArrayLen(2)
		_ = b.Enc().EncodeFloat32(dx)
		_ = b.Enc().EncodeFloat32(dy)
	})
}

// codecArenaSchema is the arena schema of PROTOCOL §4.
func codecArenaSchema() []byte {
	return codecEnc(func(b *Buffer) {
		e := b.Enc()
		kind := func(name string, fields ...any) {
			_ = e.EncodeArrayLen(2)
			_ = e.EncodeString(name)
			_ = e.EncodeArrayLen(len(fields))
			for _, f := range fields {
				switch f := f.(type) {
				case string:
					_ = e.EncodeString(f)
				case int:
					_ = e.EncodeUint(uint64(f))
				}
			}
		}
		_ = e.EncodeArrayLen(2)
		kind("player", "id", 3, "name", 3, "x", 1, "y", 1, "hp", 1, "score", 1)
		kind("pickup", "x", 1, "y", 1, "value", 1)
	})
}

// codecInts encodes ints as one msgpack array (a changes/created/removed
// value of ints).
func codecInts(vs ...int64) []byte {
	return codecEnc(func(b *Buffer) {
		_ = b.Enc().EncodeArrayLen(len(vs))
		for _, v := range vs {
			_ = b.Enc().EncodeInt(v)
		}
	})
}

// codecFNV is the PROTOCOL §5.3 checksum of one arena player entity,
// written out here so the golden snapshot frame does not depend on
// checksum.go.
func codecFNV(id uint32, kind byte, strs []string, ints []int64) uint32 {
	var buf []byte
	buf = binary.LittleEndian.AppendUint32(buf, id)
	buf = append(buf, kind)
	for _, s := range strs {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(s)))
		buf = append(buf, s...)
	}
	for _, v := range ints {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(v))
	}
	h := uint32(2166136261)
	for _, c := range buf {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// codecVector is an encoder call with the message it must decode to, and
// optionally the golden file holding its bytes.
type codecVector struct {
	name   string
	file   string // under testdata/wire; "" for no golden file
	enc    func(b *Buffer)
	client *ClientMessage // want from DecodeClient
	server *ServerMessage // want from DecodeServer
}

func codecVectors() []codecVector {
	input := codecArenaInput(0.5, -1)
	schema := codecArenaSchema()
	changes := codecInts(12, 5, -2, 8, 5, 76, -4, -3) // PROTOCOL §5.1 example
	created := codecEnc(func(b *Buffer) {
		e := b.Enc()
		_ = e.EncodeArrayLen(8)
		_ = e.EncodeUint(1) // id
		_ = e.EncodeUint(0) // kind player
		_ = e.EncodeString("p-ada")
		_ = e.EncodeString("Ada")
		_ = e.EncodeInt(100)
		_ = e.EncodeInt(200)
		_ = e.EncodeInt(100)
		_ = e.EncodeInt(0)
	})
	snapSum := func() uint32 {
		// Fields in order: id, name (str) then x, y, hp, score (int); the
		// arena player kind lists the strings first, so this order holds.
		return codecFNV(1, 0, []string{"p-ada", "Ada"}, []int64{100, 200, 100, 0})
	}()
	pickup := codecInts(3, 10)
	events := []Event{{Seq: 7, Name: "pickup", Payload: pickup}, {Seq: 9, Name: "chat", Payload: nil}}
	empty := codecInts()
	long := strings.Repeat("r", 300)
	nilv := []byte{0xc0}

	return []codecVector{
		// Client → server.
		{name: "join arena", file: "join_arena.hex",
			enc:    func(b *Buffer) { AppendJoin(b, "arena", "") },
			client: &ClientMessage{Type: MsgJoin, RoomType: "arena"}},
		{name: "join room", file: "join_room.hex",
			enc:    func(b *Buffer) { AppendJoin(b, "", "r-7") },
			client: &ClientMessage{Type: MsgJoin, RoomID: "r-7"}},
		{name: "join long ids",
			enc:    func(b *Buffer) { AppendJoin(b, long, strings.Repeat("é", 40)) },
			client: &ClientMessage{Type: MsgJoin, RoomType: long, RoomID: strings.Repeat("é", 40)}},
		{name: "input 1", file: "input_1.hex",
			enc:    func(b *Buffer) { AppendInput(b, 1, input, 0) },
			client: &ClientMessage{Type: MsgInput, Seq: 1, Payload: input}},
		{name: "input with ack", file: "input_ack.hex",
			enc:    func(b *Buffer) { AppendInput(b, 2, input, 100) },
			client: &ClientMessage{Type: MsgInput, Seq: 2, Payload: input, Ack: 100}},
		{name: "input big numbers",
			enc:    func(b *Buffer) { AppendInput(b, math.MaxUint64, input, 1<<40) },
			client: &ClientMessage{Type: MsgInput, Seq: math.MaxUint64, Payload: input, Ack: 1 << 40}},
		{name: "input nil payload",
			enc:    func(b *Buffer) { AppendInput(b, 300, nil, 0) },
			client: &ClientMessage{Type: MsgInput, Seq: 300, Payload: nilv}},
		{name: "ack", file: "ack_100.hex",
			enc:    func(b *Buffer) { AppendAck(b, 100) },
			client: &ClientMessage{Type: MsgAck, Ack: 100}},
		{name: "ack 0 (snapshot request)",
			enc:    func(b *Buffer) { AppendAck(b, 0) },
			client: &ClientMessage{Type: MsgAck}},
		{name: "ack uint32",
			enc:    func(b *Buffer) { AppendAck(b, 70000) },
			client: &ClientMessage{Type: MsgAck, Ack: 70000}},
		{name: "leave", file: "leave.hex",
			enc:    func(b *Buffer) { AppendLeave(b) },
			client: &ClientMessage{Type: MsgLeave}},
		{name: "msg", file: "msg.hex",
			enc:    func(b *Buffer) { AppendMsg(b, "p-bob", pickup) },
			client: &ClientMessage{Type: MsgMsg, To: "p-bob", Payload: pickup}},
		{name: "msg nil payload",
			enc:    func(b *Buffer) { AppendMsg(b, "p-bob", nil) },
			client: &ClientMessage{Type: MsgMsg, To: "p-bob", Payload: nilv}},
		{name: "ping", file: "ping.hex",
			enc:    func(b *Buffer) { AppendPing(b, codecEnc(func(b *Buffer) { _ = b.Enc().EncodeUint(1700000000000) })) },
			client: &ClientMessage{Type: MsgPing, Payload: codecHex("cf 00 00 01 8b cf e5 68 00")}},
		{name: "ping empty", file: "ping_empty.hex",
			enc:    func(b *Buffer) { AppendPing(b, nil) },
			client: &ClientMessage{Type: MsgPing}},
		{name: "join seat", file: "join_seat.hex",
			enc:    func(b *Buffer) { AppendJoinSeat(b, "s0123abcd") },
			client: &ClientMessage{Type: MsgJoin, Token: "s0123abcd"}},
		{name: "resume", file: "resume.hex",
			enc:    func(b *Buffer) { AppendResume(b, "tok-0123456789abcdef", 1234, 56) },
			client: &ClientMessage{Type: MsgResume, Token: "tok-0123456789abcdef", Ack: 1234, EventSeq: 56}},

		// Server → client.
		{name: "welcome", file: "welcome.hex",
			enc:    func(b *Buffer) { AppendWelcome(b, "p-ada", "Ada") },
			server: &ServerMessage{Type: MsgWelcome, PlayerID: "p-ada", Name: "Ada", Protocol: 1}},
		{name: "joined arena", file: "joined_arena.hex",
			enc: func(b *Buffer) {
				AppendJoined(b, SeatInfo{RoomID: "r-7", RoomType: "arena", TickRate: 20, History: 64, Schema: schema, ResumeToken: "tok-A"})
			},
			server: &ServerMessage{Type: MsgJoined, RoomID: "r-7", RoomType: "arena", TickRate: 20, Schema: schema, History: 64, ResumeToken: "tok-A"}},
		{name: "matched", file: "matched.hex",
			enc:    func(b *Buffer) { AppendMatched(b, "t-9", "arena", "r-7", "s0123abcd", 1700000015000, "") },
			server: &ServerMessage{Type: MsgMatched, TicketID: "t-9", Mode: "arena", RoomID: "r-7", SeatToken: "s0123abcd", ExpiresAt: 1700000015000}},
		{name: "matched on another node", file: "matched_remote.hex",
			enc: func(b *Buffer) {
				AppendMatched(b, "t-9", "arena", "r-7", "s0123abcd", 1700000015000, "ws://10.0.0.2:8080/ws")
			},
			server: &ServerMessage{Type: MsgMatched, TicketID: "t-9", Mode: "arena", RoomID: "r-7", SeatToken: "s0123abcd", ExpiresAt: 1700000015000, WSURL: "ws://10.0.0.2:8080/ws"}},
		{name: "redirect", file: "redirect.hex",
			enc:    func(b *Buffer) { AppendRedirect(b, "ws://10.0.0.2:8080/ws", MsgResume) },
			server: &ServerMessage{Type: MsgRedirect, WSURL: "ws://10.0.0.2:8080/ws", Ref: MsgResume}},
		{name: "resumed arena", file: "resumed_arena.hex",
			enc: func(b *Buffer) {
				AppendResumed(b, SeatInfo{RoomID: "r-7", RoomType: "arena", TickRate: 20, History: 64, Schema: schema, ResumeToken: "tok-B"}, false)
			},
			server: &ServerMessage{Type: MsgResumed, RoomID: "r-7", RoomType: "arena", TickRate: 20, Schema: schema, History: 64, ResumeToken: "tok-B"}},
		{name: "frame example", file: "frame_example.hex",
			enc: func(b *Buffer) {
				AppendFrameHead(b, 6, 100, 2, 42, 0xdeadbeef)
				b.B = append(b.B, changes...)
			},
			server: &ServerMessage{Type: MsgFrame, Tick: 100, Age: 2, InputSeq: 42, Checksum: 0xdeadbeef, Changes: changes}},
		{name: "frame snapshot", file: "frame_snapshot.hex",
			enc: func(b *Buffer) {
				AppendFrameHead(b, 7, 1, 0, 0, snapSum)
				b.B = append(b.B, empty...)
				b.B = append(b.B, created...)
			},
			server: &ServerMessage{Type: MsgFrame, Tick: 1, Checksum: snapSum, Changes: empty, Created: created}},
		{name: "frame with events", file: "frame_events.hex",
			enc: func(b *Buffer) {
				AppendFrameHead(b, 9, 101, 1, 43, 2166136261)
				b.B = append(b.B, empty...)
				b.B = append(b.B, empty...)
				b.B = append(b.B, codecInts(4)...)
				AppendEvents(b, events)
			},
			server: &ServerMessage{Type: MsgFrame, Tick: 101, Age: 1, InputSeq: 43, Checksum: 2166136261,
				Changes: empty, Created: empty, Removed: codecInts(4),
				Events: []Event{{Seq: 7, Name: "pickup", Payload: pickup}, {Seq: 9, Name: "chat", Payload: nilv}}}},
		{name: "frame removed only",
			enc: func(b *Buffer) {
				AppendFrameHead(b, 8, math.MaxUint64, 64, 1<<33, math.MaxUint32)
				b.B = append(b.B, changes...)
				b.B = append(b.B, empty...)
				b.B = append(b.B, codecInts(1, 2, 3)...)
			},
			server: &ServerMessage{Type: MsgFrame, Tick: math.MaxUint64, Age: 64, InputSeq: 1 << 33, Checksum: math.MaxUint32,
				Changes: changes, Created: empty, Removed: codecInts(1, 2, 3)}},
		{name: "error", file: "error_bad_message.hex",
			enc:    func(b *Buffer) { AppendError(b, CodeBadMessage, "input: seq must be uint", MsgInput) },
			server: &ServerMessage{Type: MsgError, Code: CodeBadMessage, Message: "input: seq must be uint", Ref: MsgInput}},
		{name: "error no ref",
			enc:    func(b *Buffer) { AppendError(b, CodeInternal, "internal error", 0) },
			server: &ServerMessage{Type: MsgError, Code: CodeInternal, Message: "internal error"}},
		{name: "direct msg", file: "direct.hex",
			enc:    func(b *Buffer) { AppendDirect(b, "p-ada", pickup) },
			server: &ServerMessage{Type: MsgDirect, From: "p-ada", Payload: pickup}},
		{name: "left", file: "left.hex",
			enc:    func(b *Buffer) { AppendLeft(b, "r-7", "leave") },
			server: &ServerMessage{Type: MsgLeft, RoomID: "r-7", Reason: "leave"}},
		{name: "pong", file: "pong.hex",
			enc:    func(b *Buffer) { AppendPong(b, codecEnc(func(b *Buffer) { _ = b.Enc().EncodeUint(1700000000000) })) },
			server: &ServerMessage{Type: MsgPong, Payload: codecHex("cf 00 00 01 8b cf e5 68 00")}},
		{name: "pong nil",
			enc:    func(b *Buffer) { AppendPong(b, nil) },
			server: &ServerMessage{Type: MsgPong, Payload: nilv}},
	}
}

// codecNormServer makes a ServerMessage comparable with reflect.DeepEqual:
// empty Events become nil.
func codecNormServer(m ServerMessage) ServerMessage {
	if len(m.Events) == 0 {
		m.Events = nil
	}
	return m
}

// codecReadHex reads a golden .hex file: hex bytes, whitespace ignored.
func codecReadHex(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var sb strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		sb.WriteString(line)
	}
	b, err := codecHexSafe(sb.String())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

func codecHexSafe(s string) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bad hex: %v", r)
		}
	}()
	return codecHex(s), nil
}

// codecFormatHex is the golden file format: bytes as lowercase hex,
// space-separated, 16 per line.
func codecFormatHex(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			if i%16 == 0 {
				sb.WriteByte('\n')
			} else {
				sb.WriteByte(' ')
			}
		}
		fmt.Fprintf(&sb, "%02x", c)
	}
	sb.WriteByte('\n')
	return sb.String()
}

// TestRoundTrip encodes every vector, compares it with its golden file and
// decodes it back.
func TestRoundTrip(t *testing.T) {
	for _, v := range codecVectors() {
		t.Run(v.name, func(t *testing.T) {
			got := codecEnc(v.enc)
			if v.file != "" {
				path := filepath.Join(codecWireDir, v.file)
				if *codecUpdate {
					if err := os.WriteFile(path, []byte(codecFormatHex(got)), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := codecReadHex(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if string(got) != string(want) {
					t.Errorf("encoding differs from %s\n got: % x\nwant: % x", path, got, want)
				}
			}
			if v.client != nil {
				var m ClientMessage
				if err := DecodeClient(got, &m); err != nil {
					t.Fatalf("DecodeClient(% x): %v", got, err)
				}
				if !reflect.DeepEqual(m, *v.client) {
					t.Errorf("DecodeClient(% x)\n got %+v\nwant %+v", got, m, *v.client)
				}
				var sm ServerMessage
				if err := DecodeServer(got, &sm); err == nil {
					t.Errorf("DecodeServer accepted client message % x", got)
				}
			}
			if v.server != nil {
				var m ServerMessage
				if err := DecodeServer(got, &m); err != nil {
					t.Fatalf("DecodeServer(% x): %v", got, err)
				}
				if g, w := codecNormServer(m), codecNormServer(*v.server); !reflect.DeepEqual(g, w) {
					t.Errorf("DecodeServer(% x)\n got %+v\nwant %+v", got, g, w)
				}
				var cm ClientMessage
				if err := DecodeClient(got, &cm); err == nil && len(got) <= MaxClientMessage {
					t.Errorf("DecodeClient accepted server message % x", got)
				}
			}
		})
	}
}

// TestGoldenFilesListed checks that every golden file is produced by a
// vector and described in the README, so none goes stale.
func TestGoldenFilesListed(t *testing.T) {
	files := map[string]bool{}
	for _, v := range codecVectors() {
		if v.file != "" {
			files[v.file] = true
		}
	}
	readme, err := os.ReadFile(filepath.Join(codecWireDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	matches, err := filepath.Glob(filepath.Join(codecWireDir, "*.hex"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range matches {
		name := filepath.Base(p)
		if !files[name] {
			t.Errorf("%s is not produced by any vector in codecVectors", p)
		}
		delete(files, name)
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("%s is not described in %s/README.md", name, codecWireDir)
		}
	}
	for name := range files {
		t.Errorf("golden file %s missing (run go test -run TestRoundTrip -update)", name)
	}
}

// TestGoldenFrameExample pins the PROTOCOL §5.1 numbers: the example
// changes array is 9 bytes.
func TestGoldenFrameExample(t *testing.T) {
	changes := codecInts(12, 5, -2, 8, 5, 76, -4, -3)
	if want := codecHex("98 0c 05 fe 08 05 4c fc fd"); string(changes) != string(want) {
		t.Errorf("changes = % x; want % x", changes, want)
	}
	if len(changes) != 9 {
		t.Errorf("len(changes) = %d; want 9 (PROTOCOL §5.1)", len(changes))
	}
}

// TestDecodeClientValid covers encodings the encoders never produce but a
// receiver must accept (PROTOCOL conventions: any integer encoding).
func TestDecodeClientValid(t *testing.T) {
	rows := []struct {
		name string
		in   string
		want ClientMessage
	}{
		{"join without room_id", "92 01 a5 61 72 65 6e 61", ClientMessage{Type: MsgJoin, RoomType: "arena"}},
		{"join with empty room_id", "93 01 a5 61 72 65 6e 61 a0", ClientMessage{Type: MsgJoin, RoomType: "arena"}},
		{"join with room_id", "93 01 a0 a2 72 31", ClientMessage{Type: MsgJoin, RoomID: "r1"}},
		{"join str8", "92 01 d9 01 61", ClientMessage{Type: MsgJoin, RoomType: "a"}},
		{"join str16", "92 01 da 00 01 61", ClientMessage{Type: MsgJoin, RoomType: "a"}},
		{"join str32", "92 01 db 00 00 00 01 61", ClientMessage{Type: MsgJoin, RoomType: "a"}},
		{"input without ack", "93 02 01 c0", ClientMessage{Type: MsgInput, Seq: 1, Payload: []byte{0xc0}}},
		{"input with ack", "94 02 01 c0 05", ClientMessage{Type: MsgInput, Seq: 1, Payload: []byte{0xc0}, Ack: 5}},
		{"input with ack 0", "94 02 01 c0 00", ClientMessage{Type: MsgInput, Seq: 1, Payload: []byte{0xc0}}},
		{"input seq uint8", "93 02 cc 01 c0", ClientMessage{Type: MsgInput, Seq: 1, Payload: []byte{0xc0}}},
		{"input seq uint16", "93 02 cd 01 00 c0", ClientMessage{Type: MsgInput, Seq: 256, Payload: []byte{0xc0}}},
		{"input seq uint32", "93 02 ce 00 01 00 00 c0", ClientMessage{Type: MsgInput, Seq: 65536, Payload: []byte{0xc0}}},
		{"input seq uint64", "93 02 cf ff ff ff ff ff ff ff ff c0", ClientMessage{Type: MsgInput, Seq: math.MaxUint64, Payload: []byte{0xc0}}},
		{"input seq int8", "93 02 d0 05 c0", ClientMessage{Type: MsgInput, Seq: 5, Payload: []byte{0xc0}}},
		{"input seq int16", "93 02 d1 01 00 c0", ClientMessage{Type: MsgInput, Seq: 256, Payload: []byte{0xc0}}},
		{"input seq int32", "93 02 d2 00 00 01 00 c0", ClientMessage{Type: MsgInput, Seq: 256, Payload: []byte{0xc0}}},
		{"input seq int64", "93 02 d3 7f ff ff ff ff ff ff ff c0", ClientMessage{Type: MsgInput, Seq: math.MaxInt64, Payload: []byte{0xc0}}},
		{"input type as uint8", "93 cc 02 01 c0", ClientMessage{Type: MsgInput, Seq: 1, Payload: []byte{0xc0}}},
		{"input array16 envelope", "dc 00 03 02 01 c0", ClientMessage{Type: MsgInput, Seq: 1, Payload: []byte{0xc0}}},
		{"input array32 envelope", "dd 00 00 00 03 02 01 c0", ClientMessage{Type: MsgInput, Seq: 1, Payload: []byte{0xc0}}},
		{"input payload depth 8", "93 02 01 91 91 91 91 91 91 91 91 01",
			ClientMessage{Type: MsgInput, Seq: 1, Payload: codecHex("91 91 91 91 91 91 91 91 01")}},
		{"input map payload", "93 02 01 81 a1 78 ca 3f 00 00 00",
			ClientMessage{Type: MsgInput, Seq: 1, Payload: codecHex("81 a1 78 ca 3f 00 00 00")}},
		{"ack", "92 03 cd 01 00", ClientMessage{Type: MsgAck, Ack: 256}},
		{"ack 0", "92 03 00", ClientMessage{Type: MsgAck}},
		{"leave", "91 04", ClientMessage{Type: MsgLeave}},
		{"msg", "93 05 a1 62 92 01 02", ClientMessage{Type: MsgMsg, To: "b", Payload: codecHex("92 01 02")}},
		{"ping without data", "91 06", ClientMessage{Type: MsgPing}},
		{"ping with nil", "92 06 c0", ClientMessage{Type: MsgPing, Payload: []byte{0xc0}}},
		{"ping with map", "92 06 81 a1 74 01", ClientMessage{Type: MsgPing, Payload: codecHex("81 a1 74 01")}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			in := codecHex(r.in)
			m := ClientMessage{Type: 99, RoomID: "stale", Payload: []byte{1}} // must be reset
			if err := DecodeClient(in, &m); err != nil {
				t.Fatalf("DecodeClient(% x): %v", in, err)
			}
			if !reflect.DeepEqual(m, r.want) {
				t.Errorf("DecodeClient(% x)\n got %+v\nwant %+v", in, m, r.want)
			}
		})
	}
}

func TestDecodeClientBad(t *testing.T) {
	big := codecCat(codecHex("93 02 01 c5 40 00"), codecRepeat(0, 0x4000))
	rows := []struct {
		name string
		in   []byte
		code string
		ref  MsgType
		msg  string // substring of the error message
	}{
		{"empty", nil, CodeBadMessage, 0, "empty"},
		{"not an array", codecHex("02"), CodeBadMessage, 0, "must be an array"},
		{"map", codecHex("81 01 02"), CodeBadMessage, 0, "must be an array"},
		{"string", codecHex("a4 6a 6f 69 6e"), CodeBadMessage, 0, "must be an array"},
		{"empty array", codecHex("90"), CodeBadMessage, 0, "empty array"},
		{"type is a string", codecHex("92 a4 6a 6f 69 6e a1 61"), CodeBadMessage, 0, "type must be uint"},
		{"type negative", codecHex("91 ff"), CodeBadMessage, 0, "type must be uint"},
		{"type float", codecHex("91 ca 3f 80 00 00"), CodeBadMessage, 0, "type must be uint"},
		{"unknown type 99", codecHex("91 63"), CodeUnknownType, 99, "unknown message type 99"},
		{"unknown type 0", codecHex("91 00"), CodeUnknownType, 0, "unknown message type 0"},
		{"unknown type 9 with fields", codecHex("93 09 01 02"), CodeUnknownType, 9, "unknown message type 9"},
		{"server type 103 from client", codecHex("96 67 01 01 01 01 90"), CodeUnknownType, 103, "unknown message type 103"},
		{"unknown type 1000", codecHex("91 cd 03 e8"), CodeUnknownType, 0, "unknown message type 1000"},
		{"unknown type 258 as uint16", codecHex("91 cd 01 02"), CodeUnknownType, 0, "unknown message type 258"},
		{"join too few", codecHex("91 01"), CodeBadMessage, MsgJoin, "join: too few fields"},
		{"join too many", codecHex("95 01 a1 61 a1 62 a1 63 a1 64"), CodeBadMessage, MsgJoin, "join: too many fields"},
		{"join room_type int", codecHex("92 01 05"), CodeBadMessage, MsgJoin, "join: room_type must be str"},
		{"join room_type nil", codecHex("92 01 c0"), CodeBadMessage, MsgJoin, "join: room_type must be str"},
		{"join room_type bin", codecHex("92 01 c4 01 61"), CodeBadMessage, MsgJoin, "join: room_type must be str"},
		{"join room_id int", codecHex("93 01 a1 61 01"), CodeBadMessage, MsgJoin, "join: room_id must be str"},
		{"join room_type not UTF-8", codecHex("92 01 a2 c3 28"), CodeBadMessage, MsgJoin, "room_type must be valid UTF-8"},
		{"join room_type too long", codecCat(codecHex("92 01 da 10 01"), codecRepeat('a', 4097)), CodeBadMessage, MsgJoin, "join: string or binary longer than 4096"},
		{"input too few", codecHex("92 02 01"), CodeBadMessage, MsgInput, "input: too few fields"},
		{"input too many", codecHex("95 02 01 c0 01 01"), CodeBadMessage, MsgInput, "input: too many fields"},
		{"input string seq", codecHex("93 02 a1 31 c0"), CodeBadMessage, MsgInput, "input: seq must be uint"},
		{"input negative seq fixint", codecHex("93 02 ff c0"), CodeBadMessage, MsgInput, "input: seq must be uint"},
		{"input negative seq int8", codecHex("93 02 d0 80 c0"), CodeBadMessage, MsgInput, "input: seq must be uint"},
		{"input negative seq int64", codecHex("93 02 d3 ff ff ff ff ff ff ff ff c0"), CodeBadMessage, MsgInput, "input: seq must be uint"},
		{"input float seq", codecHex("93 02 cb 3f f0 00 00 00 00 00 00 c0"), CodeBadMessage, MsgInput, "input: seq must be uint"},
		{"input nil seq", codecHex("93 02 c0 c0"), CodeBadMessage, MsgInput, "input: seq must be uint"},
		{"input negative ack", codecHex("94 02 01 c0 ff"), CodeBadMessage, MsgInput, "input: ack must be uint"},
		{"input string ack", codecHex("94 02 01 c0 a1 31"), CodeBadMessage, MsgInput, "input: ack must be uint"},
		{"input payload too deep", codecCat(codecHex("93 02 01"), codecRepeat(0x91, 9), []byte{1}), CodeBadMessage, MsgInput, "input: nesting deeper than 8"},
		{"input payload array32 4G", codecHex("93 02 01 dd ff ff ff ff"), CodeBadMessage, MsgInput, "input: array or map longer than 256"},
		{"input payload map32 4G", codecHex("93 02 01 df ff ff ff ff"), CodeBadMessage, MsgInput, "input: array or map longer than 256"},
		{"input payload str32 4G", codecHex("93 02 01 db ff ff ff ff"), CodeBadMessage, MsgInput, "input: string or binary longer than 4096"},
		{"input payload bin32 4G", codecHex("93 02 01 c6 ff ff ff ff"), CodeBadMessage, MsgInput, "input: string or binary longer than 4096"},
		{"input payload ext", codecHex("93 02 01 d6 ff 00 00 00 00"), CodeBadMessage, MsgInput, "input: msgpack ext"},
		{"input payload array 300", codecCat(codecHex("93 02 01 dc 01 2c"), codecRepeat(0, 300)), CodeBadMessage, MsgInput, "input: array or map longer than 256"},
		{"input envelope array32 4G", codecHex("dd ff ff ff ff 02 01 c0"), CodeBadMessage, MsgInput, "input: array or map longer than 256"},
		{"input envelope array16 4", codecHex("dc 00 04 02 01 c0"), CodeBadMessage, MsgInput, "input: declared length exceeds"},
		{"input truncated", codecHex("93 02 01"), CodeBadMessage, MsgInput, "input: truncated"},
		{"input trailing bytes", codecHex("93 02 01 c0 c0"), CodeBadMessage, MsgInput, "input: trailing bytes"},
		{"input second message", codecHex("93 02 01 c0 93 02 02 c0"), CodeBadMessage, MsgInput, "input: trailing bytes"},
		{"input larger than 16 KiB", big, CodeBadMessage, MsgInput, "larger than 16384"},
		{"ack too few", codecHex("91 03"), CodeBadMessage, MsgAck, "ack: too few fields"},
		{"ack too many", codecHex("93 03 01 02"), CodeBadMessage, MsgAck, "ack: too many fields"},
		{"ack negative", codecHex("92 03 d1 ff 00"), CodeBadMessage, MsgAck, "ack: tick must be uint"},
		{"ack string", codecHex("92 03 a1 31"), CodeBadMessage, MsgAck, "ack: tick must be uint"},
		{"ack bool", codecHex("92 03 c3"), CodeBadMessage, MsgAck, "ack: tick must be uint"},
		{"leave too many", codecHex("92 04 c0"), CodeBadMessage, MsgLeave, "leave: too many fields"},
		{"msg too few", codecHex("92 05 a1 62"), CodeBadMessage, MsgMsg, "msg: too few fields"},
		{"msg too many", codecHex("94 05 a1 62 01 02"), CodeBadMessage, MsgMsg, "msg: too many fields"},
		{"msg to int", codecHex("93 05 01 01"), CodeBadMessage, MsgMsg, "msg: to must be str"},
		{"msg to not UTF-8", codecHex("93 05 a1 ff 01"), CodeBadMessage, MsgMsg, "msg: to must be valid UTF-8"},
		{"msg payload 4G", codecHex("93 05 a1 62 dd ff ff ff ff"), CodeBadMessage, MsgMsg, "msg: array or map longer than 256"},
		{"ping too many", codecHex("93 06 01 02"), CodeBadMessage, MsgPing, "ping: too many fields"},
		{"ping data ext", codecHex("92 06 d4 01 01"), CodeBadMessage, MsgPing, "ping: msgpack ext"},
		{"never used byte", codecHex("92 06 c1"), CodeBadMessage, MsgPing, "ping: invalid msgpack byte"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			var m ClientMessage
			err := DecodeClient(r.in, &m)
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("DecodeClient(% x) = %v (%+v); want *ProtocolError", codecShort(r.in), err, m)
			}
			if pe.Code != r.code || pe.Ref != r.ref || !strings.Contains(pe.Message, r.msg) {
				t.Errorf("DecodeClient(% x) = {%s %q ref %d}; want {%s ~%q ref %d}",
					codecShort(r.in), pe.Code, pe.Message, pe.Ref, r.code, r.msg, r.ref)
			}
			if !strings.Contains(pe.Error(), pe.Code) {
				t.Errorf("Error() = %q; want it to contain the code", pe.Error())
			}
		})
	}
}

func TestDecodeServerBad(t *testing.T) {
	rows := []struct {
		name string
		in   string
		code string
		ref  MsgType
		msg  string
	}{
		{"empty", "", CodeBadMessage, 0, "empty"},
		{"not an array", "c0", CodeBadMessage, 0, "must be an array"},
		{"empty array", "90", CodeBadMessage, 0, "empty array"},
		{"client type", "91 04", CodeUnknownType, 4, "unknown message type 4"},
		{"unknown type", "91 6f", CodeUnknownType, 111, "unknown message type 111"},
		{"redirect too few", "92 6e a1 77", CodeBadMessage, MsgRedirect, "redirect: too few fields"},
		{"welcome too few", "93 65 a1 70 a1 6e", CodeBadMessage, MsgWelcome, "welcome: too few fields"},
		{"welcome protocol string", "94 65 a1 70 a1 6e a1 31", CodeBadMessage, MsgWelcome, "welcome: protocol must be uint"},
		{"welcome player_id int", "94 65 01 a1 6e 01", CodeBadMessage, MsgWelcome, "welcome: player_id must be str"},
		{"joined tick_rate negative", "95 66 a1 72 a1 74 ff 90", CodeBadMessage, MsgJoined, "joined: tick_rate must be uint"},
		{"joined schema 4G", "95 66 a1 72 a1 74 14 dd ff ff ff ff", CodeBadMessage, MsgJoined, "joined: declared length exceeds"},
		{"frame too few", "95 67 01 01 01 01", CodeBadMessage, MsgFrame, "frame: too few fields"},
		{"frame checksum > uint32", "96 67 01 01 01 cf 00 00 00 01 00 00 00 00 90", CodeBadMessage, MsgFrame, "frame: checksum must be a uint32"},
		{"frame tick negative", "96 67 ff 01 01 01 90", CodeBadMessage, MsgFrame, "frame: tick must be uint"},
		{"frame changes not array", "96 67 01 01 01 01 c0", CodeBadMessage, MsgFrame, "frame: changes must be an array"},
		{"frame created map", "97 67 01 01 01 01 90 80", CodeBadMessage, MsgFrame, "frame: created must be an array"},
		{"frame removed nil", "98 67 01 01 01 01 90 90 c0", CodeBadMessage, MsgFrame, "frame: removed must be an array"},
		{"frame events not array", "99 67 01 01 01 01 90 90 90 01", CodeBadMessage, MsgFrame, "frame: events must be an array"},
		{"frame event short", "99 67 01 01 01 01 90 90 90 91 92 01 a1 61", CodeBadMessage, MsgFrame, "frame: event must be"},
		{"frame event name int", "99 67 01 01 01 01 90 90 90 91 93 01 01 c0", CodeBadMessage, MsgFrame, "frame: event name must be str"},
		{"frame event seq negative", "99 67 01 01 01 01 90 90 90 91 93 ff a1 61 c0", CodeBadMessage, MsgFrame, "frame: event seq must be uint"},
		{"frame changes 4G", "96 67 01 01 01 01 dd ff ff ff ff", CodeBadMessage, MsgFrame, "frame: declared length exceeds"},
		{"frame trailing", "96 67 01 01 01 01 90 90", CodeBadMessage, MsgFrame, "frame: trailing bytes"},
		{"error ref 256", "94 68 a1 63 a1 6d cd 01 00", CodeBadMessage, MsgError, "error: ref must be"},
		{"msg from nil", "93 69 c0 c0", CodeBadMessage, MsgDirect, "msg: from must be str"},
		{"left reason int", "93 6a a1 72 01", CodeBadMessage, MsgLeft, "left: reason must be str"},
		{"pong too few", "91 6b", CodeBadMessage, MsgPong, "pong: too few fields"},
		{"pong truncated ext", "92 6b c7 05 01 00", CodeBadMessage, MsgPong, "pong: declared length exceeds"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			in := codecHex(r.in)
			var m ServerMessage
			err := DecodeServer(in, &m)
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("DecodeServer(% x) = %v; want *ProtocolError", in, err)
			}
			if pe.Code != r.code || pe.Ref != r.ref || !strings.Contains(pe.Message, r.msg) {
				t.Errorf("DecodeServer(% x) = {%s %q ref %d}; want {%s ~%q ref %d}",
					in, pe.Code, pe.Message, pe.Ref, r.code, r.msg, r.ref)
			}
		})
	}
}

// TestDecodeServerExt checks that server messages may carry ext values
// in payloads (game events may use them), unlike client messages.
func TestDecodeServerExt(t *testing.T) {
	in := codecHex("92 6b d6 ff 00 00 00 01")
	var m ServerMessage
	if err := DecodeServer(in, &m); err != nil {
		t.Fatalf("DecodeServer(% x): %v", in, err)
	}
	if want := codecHex("d6 ff 00 00 00 01"); string(m.Payload) != string(want) {
		t.Errorf("Payload = % x; want % x", m.Payload, want)
	}
}

// TestDecodeServerReuse decodes a frame, then another message with the
// same ServerMessage: stale fields must be cleared and Events' storage
// reused.
func TestDecodeServerReuse(t *testing.T) {
	var vf, vw codecVector
	for _, v := range codecVectors() {
		switch v.name {
		case "frame with events":
			vf = v
		case "welcome":
			vw = v
		}
	}
	frame, welcome := codecEnc(vf.enc), codecEnc(vw.enc)
	var m ServerMessage
	if err := DecodeServer(frame, &m); err != nil {
		t.Fatal(err)
	}
	storage := &m.Events[:1][0]
	if err := DecodeServer(welcome, &m); err != nil {
		t.Fatal(err)
	}
	if g, w := codecNormServer(m), *vw.server; !reflect.DeepEqual(g, w) {
		t.Errorf("after a frame, welcome decoded to %+v; want %+v", g, w)
	}
	if err := DecodeServer(frame, &m); err != nil {
		t.Fatal(err)
	}
	if &m.Events[0] != storage {
		t.Errorf("Events storage was not reused")
	}
	if g, w := codecNormServer(m), codecNormServer(*vf.server); !reflect.DeepEqual(g, w) {
		t.Errorf("second frame decoded to %+v; want %+v", g, w)
	}
}

// TestCodecAllocs pins the zero-allocation paths.
func TestCodecAllocs(t *testing.T) {
	input := codecEnc(func(b *Buffer) { AppendInput(b, 12345, codecArenaInput(0.5, -1), 678) })
	ack := codecEnc(func(b *Buffer) { AppendAck(b, 100) })
	leave := codecEnc(AppendLeave)
	ping := codecEnc(func(b *Buffer) { AppendPing(b, []byte{0x01}) })
	var cm ClientMessage
	for name, in := range map[string][]byte{"input": input, "ack": ack, "leave": leave, "ping": ping} {
		if a := testing.AllocsPerRun(100, func() {
			if err := DecodeClient(in, &cm); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("DecodeClient(%s): %v allocs per run; want 0", name, a)
		}
	}

	var frame []byte
	for _, v := range codecVectors() {
		if v.name == "frame with events" {
			frame = codecEnc(v.enc)
		}
	}
	var sm ServerMessage
	if err := DecodeServer(frame, &sm); err != nil { // grows Events
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(100, func() {
		if err := DecodeServer(frame, &sm); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("DecodeServer(frame): %v allocs per run; want 0", a)
	}

	b := NewBuffer(4096)
	events := []Event{{Seq: 1, Name: "hit", Payload: []byte{0x01}}, {Seq: 2, Name: "die"}}
	payload := codecArenaInput(1, 0)
	if a := testing.AllocsPerRun(100, func() {
		b.Reset()
		AppendFrameHead(b, 9, 1000, 1, 77, 0xfeedface)
		b.B = append(b.B, 0x90, 0x90, 0x90)
		AppendEvents(b, events)
		AppendInput(b, 1, payload, 2)
		AppendAck(b, 3)
		AppendJoin(b, "arena", "r-1")
		AppendMsg(b, "p", payload)
		AppendPing(b, nil)
		AppendLeave(b)
		AppendWelcome(b, "p", "n")
		AppendJoined(b, SeatInfo{RoomID: "r", RoomType: "arena", TickRate: 20, History: 64, Schema: payload})
		AppendError(b, CodeRoomFull, "room is full", MsgJoin)
		AppendDirect(b, "p", payload)
		AppendLeft(b, "r", "closed")
		AppendPong(b, nil)
	}); a != 0 {
		t.Errorf("encoders: %v allocs per run; want 0", a)
	}
}

func TestAppendFrameHeadPanics(t *testing.T) {
	for _, fields := range []int{0, 5, 10} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AppendFrameHead(fields=%d) did not panic", fields)
				}
			}()
			AppendFrameHead(NewBuffer(16), fields, 1, 1, 1, 1)
		}()
	}
}

func TestAppendJoinedNegativeTickRate(t *testing.T) {
	var m ServerMessage
	in := codecEnc(func(b *Buffer) {
		AppendJoined(b, SeatInfo{RoomID: "r", RoomType: "t", TickRate: -5, History: 64, Schema: []byte{0x90}})
	})
	if err := DecodeServer(in, &m); err != nil || m.TickRate != 0 {
		t.Errorf("DecodeServer(AppendJoined(tickRate=-5)) = %v, tick_rate %d; want nil, 0", err, m.TickRate)
	}
}

func TestMsgTypeString(t *testing.T) {
	for tp, want := range map[MsgType]string{
		MsgJoin: "join", MsgInput: "input", MsgAck: "ack", MsgLeave: "leave", MsgMsg: "msg", MsgPing: "ping",
		MsgWelcome: "welcome", MsgJoined: "joined", MsgFrame: "frame", MsgError: "error", MsgDirect: "msg",
		MsgLeft: "left", MsgPong: "pong", 0: "type", 99: "type",
	} {
		if got := tp.String(); got != want {
			t.Errorf("MsgType(%d).String() = %q; want %q", tp, got, want)
		}
	}
}

// Server messages may grow trailing fields in later protocol versions;
// clients ignore the ones they do not know (PROTOCOL §3).
func TestDecodeServerIgnoresExtraTrailingFields(t *testing.T) {
	rows := []struct{ name, in string }{
		{"frame with a 10th field", "9a 67 01 01 01 01 90 90 90 90 a1 78"},
		{"welcome with a 5th field", "95 65 a1 70 a1 6e 01 c3"},
		{"left with a 4th field", "94 6a a1 72 a5 6c 65 61 76 65 90"},
	}
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			var m ServerMessage
			if err := DecodeServer(codecHex(tt.in), &m); err != nil {
				t.Fatalf("DecodeServer(%s) = %v, want success", tt.in, err)
			}
		})
	}
}
