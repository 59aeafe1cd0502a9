package netcode

import "testing"

func BenchmarkDecodeClientInput(b *testing.B) {
	in := codecEnc(func(b *Buffer) { AppendInput(b, 12345, codecArenaInput(0.5, -1), 12340) })
	var m ClientMessage
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if err := DecodeClient(in, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeClientHostile(b *testing.B) {
	in := codecHex("93 02 01 dd ff ff ff ff")
	var m ClientMessage
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeClient(in, &m); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkCheckValue(b *testing.B) {
	// A 1 KiB payload of mixed values, 3 levels deep.
	buf := NewBuffer(2048)
	e := buf.Enc()
	_ = e.EncodeArrayLen(32)
	for i := 0; i < 32; i++ {
		_ = e.EncodeArrayLen(3)
		_ = e.EncodeString("name")
		_ = e.EncodeFloat64(float64(i) / 3)
		_ = e.EncodeArrayLen(4)
		for j := 0; j < 4; j++ {
			_ = e.EncodeInt(int64(i * j * 1000))
		}
	}
	in := buf.B
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := CheckValue(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendFrameHead(b *testing.B) {
	buf := NewBuffer(64)
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		AppendFrameHead(buf, 6, 123456, 1, 4321, 0xdeadbeef)
	}
}

// codecArenaFrame is a frame of a 10-player arena room, everyone moving,
// with two events: the PROTOCOL §5.2 case.
func codecArenaFrame() []byte {
	buf := NewBuffer(256)
	AppendFrameHead(buf, 9, 123456, 1, 4321, 0xdeadbeef)
	vs := []int64{}
	for i := 0; i < 10; i++ {
		vs = append(vs, 12, int64(i%5)-2, 3)
	}
	buf.B = append(buf.B, codecInts(vs...)...)
	buf.B = append(buf.B, 0x90, 0x90)
	AppendEvents(buf, []Event{{Seq: 41, Name: "pickup", Payload: codecInts(3, 10)}, {Seq: 42, Name: "hit", Payload: codecInts(1, 2)}})
	return buf.B
}

func BenchmarkDecodeServerFrame(b *testing.B) {
	in := codecArenaFrame()
	var m ServerMessage
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if err := DecodeServer(in, &m); err != nil {
			b.Fatal(err)
		}
	}
}
