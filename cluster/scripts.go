package cluster

import (
	"embed"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
	"github.com/tickroom/tickroom/room"
)

//go:embed lua/*.lua
var luaFS embed.FS

// script returns lua/common.lua followed by lua/<name>.lua.
func script(name string) *redis.Script {
	common, err := luaFS.ReadFile("lua/common.lua")
	if err != nil {
		panic(err)
	}
	body, err := luaFS.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(err)
	}
	return redis.NewScript(string(common) + "\n" + string(body))
}

var (
	scrReserve   = script("reserve")
	scrTake      = script("take")
	scrConsume   = script("consume")
	scrList      = script("list")
	scrOwn       = script("own")
	scrAssert    = script("assert")
	scrRegister  = script("register")
	scrRenew     = script("renew")
	scrSweep     = script("sweep")
	scrLeave     = script("leave")
	scrNodes     = script("nodes")
	scrFindToken = script("findtoken")
	scrSend      = script("send")
	scrPresence  = script("presence")
	scrDrain     = script("drain")
)

func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func num(v any) int64 {
	switch v := v.(type) {
	case int64:
		return v
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func metaJSON(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func parseMeta(s string) map[string]string {
	if s == "" || s == "{}" || s == "[]" {
		return nil
	}
	var m map[string]string
	if json.Unmarshal([]byte(s), &m) != nil {
		return nil
	}
	return m
}

// scriptErrors maps a script's {'err', CODE} reply to the room package's errors.
var scriptErrors = map[string]error{
	"NOTFOUND": room.ErrRoomNotFound,
	"LOCKED":   room.ErrRoomLocked,
	"FULL":     room.ErrRoomFull,
	"INVALID":  room.ErrSeatInvalid,
	"EXPIRED":  room.ErrSeatExpired,
}

// placement decodes {'ok', id, type, private, code, meta, node, ws_url,
// fence} or {'err', CODE}.
func (n *Node) placement(res []any) (room.Placement, error) {
	if len(res) == 0 {
		return room.Placement{}, fmt.Errorf("cluster: empty script reply")
	}
	if str(res[0]) == "err" {
		code := str(res[1])
		if err, ok := scriptErrors[code]; ok {
			return room.Placement{}, err
		}
		if code == "NONODE" {
			return room.Placement{}, fmt.Errorf("%w: no live node", room.ErrUnavailable)
		}
		return room.Placement{}, fmt.Errorf("cluster: script refused: %s", code)
	}
	if len(res) < 9 {
		return room.Placement{}, fmt.Errorf("cluster: short script reply (%d)", len(res))
	}
	p := room.Placement{RoomID: str(res[1]), Type: str(res[2]), Private: str(res[3]) == "1", Code: str(res[4]),
		Metadata: parseMeta(str(res[5])), Node: str(res[6]), WSURL: str(res[7])}
	p.Local = p.Node == n.id
	return p, nil
}
