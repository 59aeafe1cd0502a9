package client

import (
	"errors"
	"fmt"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/netcode"
	"github.com/vmihailenco/msgpack/v5"
)

// handler receives the gws events of one Client, on its reader goroutine.
type handler struct{ c *Client }

func (h handler) OnOpen(*gws.Conn) {}

func (h handler) OnClose(_ *gws.Conn, err error) {
	c := h.c
	if c.closing.Load() {
		return // we closed it: Err stays nil
	}
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		c.err = &CloseError{Code: ce.Code, Reason: string(ce.Reason)}
	} else if err != nil {
		c.err = err
	} else {
		c.err = errors.New("connection lost")
	}
	c.log.Warn("client: connection ended", "err", c.err)
}

func (h handler) OnPing(ws *gws.Conn, payload []byte) { _ = ws.WritePong(payload) }

func (h handler) OnPong(*gws.Conn, []byte) {}

func (h handler) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	c := h.c
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
		select {
		case <-c.welcome:
			c.st.malformed.Add(1) // a second welcome
		default:
			c.playerID, c.name = m.PlayerID, m.Name
			close(c.welcome)
		}
	case netcode.MsgJoined:
		c.onJoined(m)
	case netcode.MsgFrame:
		c.onFrame(m, len(b))
	case netcode.MsgError:
		c.onError(&ServerError{Code: m.Code, Message: m.Message, Ref: m.Ref})
	case netcode.MsgDirect:
		if c.cfg.OnMessage != nil {
			c.cfg.OnMessage(m.From, m.Payload)
		}
	case netcode.MsgLeft:
		c.onLeft(m.RoomID, m.Reason)
	case netcode.MsgPong:
		var id uint64
		if msgpack.Unmarshal(m.Payload, &id) == nil {
			c.mu.Lock()
			if ch, ok := c.pings[id]; ok {
				close(ch)
				delete(c.pings, id)
			}
			c.mu.Unlock()
		}
	}
}

func (c *Client) onJoined(m *netcode.ServerMessage) {
	schema, err := netcode.DecodeSchema(m.Schema)
	if err != nil {
		c.st.malformed.Add(1)
		c.log.Warn("client: joined with a bad schema", "err", err)
		c.failJoin(fmt.Errorf("client: joined: %w", err))
		return
	}
	c.send.seated()
	c.mu.Lock()
	c.room = m.RoomID
	c.latest, c.tick, c.inputSeq = nil, 0, 0
	c.notifyLocked()
	c.mu.Unlock()
	c.rep.ensure(int(min(m.History, maxHistory)))
	c.rep.reset(schema)
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
		c.st.events.Add(uint64(len(m.Events)))
		if c.cfg.OnEvent != nil {
			c.mu.Lock()
			room := c.room
			c.mu.Unlock()
			for _, e := range m.Events {
				c.cfg.OnEvent(Event{Room: room, Seq: e.Seq, Name: e.Name, Payload: e.Payload})
			}
		}
	}
}

func (c *Client) onError(e *ServerError) {
	c.st.errors.Add(1)
	if e.Ref == netcode.MsgJoin && c.joining == nil {
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
		c.room = ""
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
	}
	if c.joining != nil && c.joining.RoomID == roomID {
		c.joining = nil
		c.failJoin(fmt.Errorf("client: join: left room %s before its first frame: %s", roomID, reason))
	}
	if c.cfg.OnLeft != nil {
		c.cfg.OnLeft(roomID, reason)
	}
}
