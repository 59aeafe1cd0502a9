package client

import (
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/netcode"
	"github.com/vmihailenco/msgpack/v5"
)

// handler receives the gws events of one Client, on its reader goroutine.
type handler struct{ c *Client }

func (h handler) OnOpen(*gws.Conn) {}

func (h handler) OnClose(_ *gws.Conn, err error) {
	c := h.c
	var ce *gws.CloseError
	switch {
	case errors.As(err, &ce):
		code := ce.Code
		if code == 0 {
			code = 1005 // a close frame without a code
		}
		c.connErr = &CloseError{Code: code, Reason: string(ce.Reason)}
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.connErr = fmt.Errorf("%w (%v): %w", ErrReadTimeout, c.cfg.ReadTimeout, err)
	case err != nil:
		c.connErr = err
	default:
		c.connErr = errors.New("connection lost")
	}
}

func (h handler) OnPing(ws *gws.Conn, payload []byte) {
	c := h.c
	c.beSilent()
	c.alive()
	c.send.mu.Lock()
	silent := c.send.silent
	c.send.mu.Unlock()
	if !silent {
		_ = ws.WritePong(payload)
	}
}

func (h handler) OnPong(*gws.Conn, []byte) { h.c.alive() }

func (h handler) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	c := h.c
	c.beSilent()
	c.alive()
	if m.Opcode != gws.OpcodeBinary {
		c.st.malformed.Add(1)
		return
	}
	c.handle(m.Bytes())
}

// handle processes one server message. Reader goroutine only.
func (c *Client) handle(b []byte) {
	c.st.messages.Add(1)
	c.st.bytes.Add(uint64(len(b)))
	m := &c.msg
	if err := netcode.DecodeServer(b, m); err != nil {
		var pe *netcode.ProtocolError
		if errors.As(err, &pe) && pe.Code == netcode.CodeUnknownType {
			// A message type of a later protocol version: skipped, like
			// extra trailing fields.
			c.st.unknown.Add(1)
			c.log.Debug("client: skipping a server message of unknown type", "err", err)
			return
		}
		c.st.malformed.Add(1)
		c.log.Warn("client: undecodable server message", "err", err)
		return
	}
	switch m.Type {
	case netcode.MsgWelcome:
		c.onWelcome(m)
	case netcode.MsgJoined:
		c.onSeat(m, false)
	case netcode.MsgResumed:
		if c.out != nil && c.out.resuming && !c.out.resumed {
			c.onAutoResumed(m)
		} else {
			c.onSeat(m, true)
		}
	case netcode.MsgFrame:
		c.onFrame(m, len(b))
	case netcode.MsgError:
		c.onError(&ServerError{Code: m.Code, Message: m.Message, Ref: m.Ref})
	case netcode.MsgRedirect:
		c.onRedirect(&RedirectError{WSURL: m.WSURL, Ref: m.Ref})
	case netcode.MsgDirect:
		if c.cfg.OnMessage != nil {
			c.cfg.OnMessage(m.From, m.Payload)
		}
	case netcode.MsgLeft:
		c.onLeft(m.RoomID, m.Reason)
	case netcode.MsgMatched:
		c.st.matched.Add(1)
		if c.cfg.OnMatched != nil {
			c.cfg.OnMatched(Matched{TicketID: m.TicketID, Mode: m.Mode, RoomID: m.RoomID, SeatToken: m.SeatToken,
				ExpiresAt: time.UnixMilli(int64(min(m.ExpiresAt, math.MaxInt64))), WSURL: m.WSURL})
		}
	case netcode.MsgPong:
		var id uint64
		if msgpack.Unmarshal(m.Payload, &id) == nil {
			c.mu.Lock()
			if ch, ok := c.pings[id]; ok {
				ch <- nil
				delete(c.pings, id)
			}
			if id == c.probe && id != 0 { // the connection survived a silence
				c.probe = 0
				c.online = c.out == nil
				c.notifyLocked()
			}
			c.mu.Unlock()
		}
	}
}

func (c *Client) onWelcome(m *netcode.ServerMessage) {
	if c.welcomed {
		c.st.malformed.Add(1) // a second welcome on one connection
		return
	}
	c.welcomed = true
	if !c.established {
		c.established = true
		c.playerID, c.name = m.PlayerID, m.Name
		c.mu.Lock()
		c.online = true
		c.notifyLocked()
		c.mu.Unlock()
		close(c.welcome)
		return
	}
	if c.out != nil {
		c.startResume()
	}
}

// onSeat handles joined, and resumed answering an explicit Resume (or the
// client's own resume, in the unexpected case of another room): a new
// seat, whose first frame (a full one) completes the waiting Join or
// Resume. A resumed seat's inputs wait for that frame's input_seq.
func (c *Client) onSeat(m *netcode.ServerMessage, resumed bool) {
	schema, err := netcode.DecodeSchema(m.Schema)
	if err != nil {
		c.st.malformed.Add(1)
		c.log.Warn("client: joined with a bad schema", "err", err)
		c.failJoin(fmt.Errorf("client: %s: %w", m.Type, err))
		return
	}
	c.send.seated(resumed)
	c.mu.Lock()
	c.room, c.token = m.RoomID, m.ResumeToken
	c.latest, c.tick, c.inputSeq = nil, 0, 0
	c.notifyLocked()
	c.mu.Unlock()
	c.rep.ensure(int(min(m.History, maxHistory)))
	c.rep.reset(schema)
	c.lastEventSeq = 0
	c.awaitFrame = resumed
	if resumed && !m.Recovered {
		c.st.unrecovered.Add(1)
	}
	c.joining = &JoinInfo{RoomID: m.RoomID, RoomType: m.RoomType, TickRate: int(min(m.TickRate, 1<<20)), Schema: schema}
}

// failJoin ends a waiting Join with err.
func (c *Client) failJoin(err error) {
	c.mu.Lock()
	w := c.joinW
	c.joinW = nil
	c.mu.Unlock()
	if w != nil {
		w.done <- joinResult{err: err}
	}
}

func (c *Client) onFrame(m *netcode.ServerMessage, size int) {
	c.st.frames.Add(1)
	if m.Age == 0 {
		c.st.snapshots.Add(1)
		c.st.snapshotBytes.Add(uint64(size))
	} else {
		c.st.deltas.Add(1)
		c.st.deltaBytes.Add(uint64(size))
	}
	// The first frame of a resumed seat tells which inputs the server
	// applied: the held ones after it go out now.
	resync := c.awaitFrame
	c.send.frame(m.InputSeq, resync)
	c.awaitFrame = false

	if c.snapWanted.Swap(false) {
		c.rep.awaitFull()
	}
	snap, err := c.rep.apply(m)
	var ds *desync
	switch {
	case err == nil:
		c.st.applied.Add(1)
		c.mu.Lock()
		room := c.room
		c.latest, c.tick, c.inputSeq = snap, m.Tick, m.InputSeq
		c.notifyLocked()
		c.mu.Unlock()
		c.send.applied(m.Tick)
		if j := c.joining; j != nil {
			c.joining = nil
			j.Tick = m.Tick
			c.mu.Lock()
			w := c.joinW
			c.joinW = nil
			c.mu.Unlock()
			if w != nil {
				w.done <- joinResult{info: *j}
			}
		}
		if c.out != nil && c.out.resumed {
			c.reconnected(m.Age == 0)
		}
		if c.cfg.OnFrame != nil {
			c.cfg.OnFrame(Frame{Room: room, Tick: m.Tick, Age: m.Age, InputSeq: m.InputSeq, Size: size, State: snap})
		}
	case errors.Is(err, errSkipped):
		c.st.ignored.Add(1)
		// The snapshot request is normally answered at the next tick;
		// asking again now and then makes a lost request harmless.
		if c.rep.skipped%20 == 0 {
			c.send.requestSnapshot()
		}
	case errors.As(err, &ds):
		c.st.desyncs.Add(1)
		c.log.Warn("client: desync; requesting a snapshot", "reason", ds.reason)
		c.send.requestSnapshot()
	}

	if len(m.Events) > 0 {
		c.mu.Lock()
		room := c.room
		c.mu.Unlock()
		for _, e := range m.Events {
			// Events arrive in seq order and never twice (PROTOCOL §6, §9),
			// across resumes too; a repeat is dropped and counted.
			if e.Seq <= c.lastEventSeq {
				c.st.duplicateEvents.Add(1)
				c.log.Warn("client: duplicate room event dropped", "seq", e.Seq, "last", c.lastEventSeq)
				continue
			}
			c.lastEventSeq = e.Seq
			c.st.events.Add(1)
			if c.cfg.OnEvent != nil {
				c.cfg.OnEvent(Event{Room: room, Seq: e.Seq, Name: e.Name, Payload: e.Payload})
			}
		}
	}
}

func (c *Client) onError(e *ServerError) {
	if e.Ref == netcode.MsgResume && c.out != nil && c.out.resuming && !c.out.resumed {
		c.log.Debug("client: resume refused", "code", e.Code, "message", e.Message)
		c.onResumeError(e)
		return
	}
	c.st.errors.Add(1)
	if (e.Ref == netcode.MsgJoin || e.Ref == netcode.MsgResume) && c.joining == nil {
		c.mu.Lock()
		w := c.joinW
		c.joinW = nil
		c.mu.Unlock()
		if w != nil {
			w.done <- joinResult{err: e}
			return
		}
	}
	c.log.Debug("client: server error", "code", e.Code, "message", e.Message, "ref", e.Ref.String())
	if c.cfg.OnError != nil {
		c.cfg.OnError(e)
	}
}

func (c *Client) onLeft(roomID, reason string) {
	c.mu.Lock()
	seated := c.room == roomID
	if seated {
		c.room, c.token = "", ""
		c.latest, c.tick, c.inputSeq = nil, 0, 0
	}
	if c.leaveW != nil {
		close(c.leaveW)
		c.leaveW = nil
	}
	c.notifyLocked()
	c.mu.Unlock()
	if seated {
		c.rep.reset(nil)
		c.send.unseated()
		c.lastEventSeq = 0
	}
	if c.joining != nil && c.joining.RoomID == roomID {
		c.joining = nil
		c.failJoin(fmt.Errorf("client: join: left room %s before its first frame: %s", roomID, reason))
	}
	if c.cfg.OnLeft != nil {
		c.cfg.OnLeft(roomID, reason)
	}
}
