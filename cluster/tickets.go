package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
)

// TicketConfig configures NewTicketStore. Zero fields take the defaults.
type TicketConfig struct {
	// Timeout bounds each store operation (one or two round trips);
	// default 500ms. When Redis is gone, operations fail within it with
	// an error wrapping matchmaking.ErrUnavailable.
	Timeout time.Duration
	// GCAfter is the key TTL of an ended ticket: it only bounds memory
	// (Forget deletes ended tickets after the retention, whatever the
	// TTL). It must exceed matchmaking.Config.Retention; default 1h.
	GCAfter time.Duration
}

// TicketStore is the matchmaking.TicketStore of a cluster: the tickets of
// every node in one Redis (or the embedded miniredis). Every decision that
// nodes could race on is one Lua script; every key a script touches is
// passed in KEYS. Times are the caller's (its injected clock), passed to
// the scripts in milliseconds; no decision depends on a key TTL.
//
// Keys, under the prefix P:
//
//	P tickets:t:<id>         HASH mode, players (JSON), rating, region, created (ms), seq,
//	                         status, ended (ms), team, window, res (JSON); TTL GCAfter once ended
//	P tickets:q:<mode>       ZSET id → seq: the queued tickets of a mode, in arrival order
//	P tickets:live:<mode>    HASH player → id of the player's queued ticket in the mode
//	P tickets:ended          ZSET id → ended (ms): what Forget deletes after the retention
//	P tickets:seq            counter: arrival order (never deleted)
//	P tickets:lease          HASH holder, until (ms): the matcher lease
//
// It is safe for concurrent use.
type TicketStore struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
	gc      time.Duration
}

var _ matchmaking.TicketStore = (*TicketStore)(nil)

// NewTicketStore returns the ticket store on client under prefix (which
// lets several deployments share one Redis). The client should be made
// with MaxRetries -1 (the scripts are compare-and-set, so a retry is
// harmless, but a retry also hides an outage from the deadline).
func NewTicketStore(client redis.UniversalClient, prefix string, cfg ...TicketConfig) *TicketStore {
	var c TicketConfig
	if len(cfg) > 0 {
		c = cfg[0]
	}
	if c.Timeout <= 0 {
		c.Timeout = 500 * time.Millisecond
	}
	if c.GCAfter <= 0 {
		c.GCAfter = time.Hour
	}
	return &TicketStore{rdb: client, prefix: prefix, timeout: c.Timeout, gc: c.GCAfter}
}

func (s *TicketStore) ticketKey(id string) string  { return s.prefix + "tickets:t:" + id }
func (s *TicketStore) queueKey(mode string) string { return s.prefix + "tickets:q:" + mode }
func (s *TicketStore) liveKey(mode string) string  { return s.prefix + "tickets:live:" + mode }
func (s *TicketStore) endedKey() string            { return s.prefix + "tickets:ended" }
func (s *TicketStore) seqKey() string              { return s.prefix + "tickets:seq" }
func (s *TicketStore) leaseKey() string            { return s.prefix + "tickets:lease" }

// ticketUnavailable wraps a Redis error: the store cannot be reached.
func ticketUnavailable(op string, err error) error {
	return fmt.Errorf("cluster: tickets: %s: %w: %w", op, matchmaking.ErrUnavailable, err)
}

func ticketMS(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func ticketFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// ticketCreateScript stores a queued ticket unless one of its players has
// a queued ticket in the mode. KEYS: ticket, queue, seq, live. ARGV: id,
// mode, players JSON, rating, region, created, then each player. Returns
// {1, seq}, {0, i} (the i-th player is busy) or {-1} (the ID is taken).
// A rerun of the same create finds its own ticket and answers its seq.
var ticketCreateScript = redis.NewScript(`
local id = ARGV[1]
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'mode') == ARGV[2] and redis.call('HGET', KEYS[1], 'players') == ARGV[3] then
    return {1, tonumber(redis.call('HGET', KEYS[1], 'seq'))}
  end
  return {-1}
end
for i = 7, #ARGV do
  local cur = redis.call('HGET', KEYS[4], ARGV[i])
  if cur and cur ~= id then return {0, i - 6} end
end
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'mode', ARGV[2], 'players', ARGV[3], 'rating', ARGV[4], 'region', ARGV[5],
  'created', ARGV[6], 'seq', seq, 'status', 'queued')
redis.call('ZADD', KEYS[2], seq, id)
for i = 7, #ARGV do redis.call('HSET', KEYS[4], ARGV[i], id) end
return {1, seq}
`)

// ticketEndScript ends a queued ticket (cancelled or expired). KEYS:
// ticket, queue, ended, live. ARGV: id, status, now, gc ms, then each
// player. Returns 1 (ended), 0 (not queued: unchanged) or -1 (no ticket).
var ticketEndScript = redis.NewScript(`
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return -1 end
if st ~= 'queued' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'ended', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
for i = 5, #ARGV do
  if redis.call('HGET', KEYS[4], ARGV[i]) == ARGV[1] then redis.call('HDEL', KEYS[4], ARGV[i]) end
end
return 1
`)

// ticketCommitScript commits a match: all its tickets queued in the mode
// and the lease held by the caller, or nothing. KEYS: lease, queue, ended,
// live, then each ticket. ARGV: holder, now, gc ms, n tickets, n players,
// then per ticket (id, team, window, reservations JSON), then per player
// (player, ticket id). Returns {1}, {-1} (lease not held) or {0, stale
// ids...}.
var ticketCommitScript = redis.NewScript(`
local lease = redis.call('HMGET', KEYS[1], 'holder', 'until')
if lease[1] ~= ARGV[1] or tonumber(lease[2]) <= tonumber(ARGV[2]) then return {-1} end
local n, np = tonumber(ARGV[4]), tonumber(ARGV[5])
local stale = {0}
for i = 1, n do
  local id = ARGV[6 + 4 * (i - 1)]
  if redis.call('HGET', KEYS[4 + i], 'status') ~= 'queued' or not redis.call('ZSCORE', KEYS[2], id) then
    stale[#stale + 1] = id
  end
end
if #stale > 1 then return stale end
for i = 1, n do
  local b = 6 + 4 * (i - 1)
  redis.call('HSET', KEYS[4 + i], 'status', 'matched', 'ended', ARGV[2], 'team', ARGV[b + 1], 'window', ARGV[b + 2], 'res', ARGV[b + 3])
  redis.call('PEXPIRE', KEYS[4 + i], ARGV[3])
  redis.call('ZREM', KEYS[2], ARGV[b])
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[b])
end
local p0 = 6 + 4 * n
for j = 0, np - 1 do
  local p, id = ARGV[p0 + 2 * j], ARGV[p0 + 2 * j + 1]
  if redis.call('HGET', KEYS[4], p) == id then redis.call('HDEL', KEYS[4], p) end
end
return {1}
`)

// ticketLeadScript takes or renews the matcher lease. KEYS: lease. ARGV:
// holder, now, until. Returns 1 if holder holds it afterwards.
var ticketLeadScript = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'holder', 'until')
if cur[1] and cur[1] ~= ARGV[1] and tonumber(cur[2]) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'until', ARGV[3])
return 1
`)

// ticketResignScript deletes the lease if holder holds it. KEYS: lease.
// ARGV: holder.
var ticketResignScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`)

// ticketRes is a reservation as stored in a ticket's res field.
type ticketRes struct {
	RoomID    string `json:"room"`
	RoomType  string `json:"type"`
	Code      string `json:"code,omitempty"`
	SeatToken string `json:"seat"`
	ExpiresAt int64  `json:"exp"` // ms
	Node      string `json:"node,omitempty"`
	WSURL     string `json:"ws,omitempty"`
}

// Create implements matchmaking.TicketStore.
func (s *TicketStore) Create(ctx context.Context, t matchmaking.Ticket) (matchmaking.Ticket, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	players, err := json.Marshal(t.Players)
	if err != nil {
		return matchmaking.Ticket{}, err
	}
	argv := []any{t.ID, t.Mode, string(players), ticketFloat(t.Rating), t.Region, ticketMS(t.Created)}
	for _, p := range t.Players {
		argv = append(argv, string(p))
	}
	keys := []string{s.ticketKey(t.ID), s.queueKey(t.Mode), s.seqKey(), s.liveKey(t.Mode)}
	r, err := ticketCreateScript.Run(ctx, s.rdb, keys, argv...).Int64Slice()
	if err != nil {
		return matchmaking.Ticket{}, ticketUnavailable("create", err)
	}
	switch {
	case len(r) == 2 && r[0] == 1:
		t.Seq = uint64(r[1])
		t.Status = "queued"
		t.Created = time.UnixMilli(t.Created.UnixMilli())
		return t, nil
	case len(r) == 2 && r[0] == 0 && r[1] >= 1 && int(r[1]) <= len(t.Players):
		return matchmaking.Ticket{}, &matchmaking.TicketExistsError{Player: t.Players[r[1]-1], Mode: t.Mode}
	default:
		return matchmaking.Ticket{}, fmt.Errorf("cluster: tickets: create %s: the ticket ID is taken (%v)", t.ID, r)
	}
}

// Get implements matchmaking.TicketStore.
func (s *TicketStore) Get(ctx context.Context, id string) (matchmaking.Ticket, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	h, err := s.rdb.HGetAll(ctx, s.ticketKey(id)).Result()
	if err != nil {
		return matchmaking.Ticket{}, ticketUnavailable("get", err)
	}
	if len(h) == 0 {
		return matchmaking.Ticket{}, matchmaking.ErrTicketNotFound
	}
	return ticketDecode(id, h)
}

// ticketDecode turns a ticket hash into a Ticket.
func ticketDecode(id string, h map[string]string) (matchmaking.Ticket, error) {
	t := matchmaking.Ticket{ID: id, Mode: h["mode"], Region: h["region"], Status: h["status"]}
	bad := func(field string, err error) (matchmaking.Ticket, error) {
		return matchmaking.Ticket{}, fmt.Errorf("cluster: tickets: ticket %s: field %s: %v", id, field, err)
	}
	if err := json.Unmarshal([]byte(h["players"]), &t.Players); err != nil {
		return bad("players", err)
	}
	var err error
	if t.Rating, err = strconv.ParseFloat(h["rating"], 64); err != nil {
		return bad("rating", err)
	}
	created, err := strconv.ParseInt(h["created"], 10, 64)
	if err != nil {
		return bad("created", err)
	}
	t.Created = time.UnixMilli(created)
	if t.Seq, err = strconv.ParseUint(h["seq"], 10, 64); err != nil {
		return bad("seq", err)
	}
	if v, ok := h["ended"]; ok {
		ended, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return bad("ended", err)
		}
		t.Ended = time.UnixMilli(ended)
	}
	if t.Status != "matched" {
		return t, nil
	}
	if t.Team, err = strconv.Atoi(h["team"]); err != nil {
		return bad("team", err)
	}
	if t.Window, err = strconv.ParseFloat(h["window"], 64); err != nil {
		return bad("window", err)
	}
	var res map[player.ID]ticketRes
	if err := json.Unmarshal([]byte(h["res"]), &res); err != nil {
		return bad("res", err)
	}
	t.Reservations = make(map[player.ID]room.Reservation, len(res))
	for p, r := range res {
		t.Reservations[p] = room.Reservation{Player: p, RoomID: r.RoomID, RoomType: r.RoomType, Code: r.Code,
			SeatToken: r.SeatToken, ExpiresAt: time.UnixMilli(r.ExpiresAt), Node: r.Node, WSURL: r.WSURL}
	}
	return t, nil
}

// Cancel implements matchmaking.TicketStore.
func (s *TicketStore) Cancel(ctx context.Context, id string, now time.Time) (matchmaking.Ticket, bool, error) {
	t, err := s.Get(ctx, id)
	if err != nil {
		return matchmaking.Ticket{}, false, err
	}
	if t.Status != "queued" {
		return t, false, nil
	}
	n, err := s.end(ctx, t, "cancelled", now)
	if err != nil {
		return matchmaking.Ticket{}, false, err
	}
	if n == 1 {
		t.Status, t.Ended = "cancelled", time.UnixMilli(now.UnixMilli())
		return t, true, nil
	}
	// It ended meanwhile (matched, expired): answer it as it is now.
	t, err = s.Get(ctx, id)
	return t, false, err
}

// end runs ticketEndScript for t.
func (s *TicketStore) end(ctx context.Context, t matchmaking.Ticket, status string, now time.Time) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	argv := []any{t.ID, status, ticketMS(now), s.gc.Milliseconds()}
	for _, p := range t.Players {
		argv = append(argv, string(p))
	}
	keys := []string{s.ticketKey(t.ID), s.queueKey(t.Mode), s.endedKey(), s.liveKey(t.Mode)}
	n, err := ticketEndScript.Run(ctx, s.rdb, keys, argv...).Int64()
	if err != nil {
		return 0, ticketUnavailable(status, err)
	}
	if n < 0 {
		return 0, matchmaking.ErrTicketNotFound
	}
	return n, nil
}

// Queued implements matchmaking.TicketStore.
func (s *TicketStore) Queued(ctx context.Context, mode string) ([]matchmaking.Ticket, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ids, err := s.rdb.ZRange(ctx, s.queueKey(mode), 0, -1).Result()
	if err != nil {
		return nil, ticketUnavailable("queued", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.ticketKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, ticketUnavailable("queued", err)
	}
	out := make([]matchmaking.Ticket, 0, len(ids))
	for i, id := range ids {
		h := cmds[i].Val()
		if len(h) == 0 || h["status"] != "queued" {
			continue // ended between the two reads
		}
		t, err := ticketDecode(id, h)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// Expire implements matchmaking.TicketStore.
func (s *TicketStore) Expire(ctx context.Context, ids []string, now time.Time) ([]string, error) {
	var out []string
	for _, id := range ids {
		t, err := s.Get(ctx, id)
		if errors.Is(err, matchmaking.ErrTicketNotFound) {
			continue
		}
		if err != nil {
			return out, err
		}
		n, err := s.end(ctx, t, "expired", now)
		if errors.Is(err, matchmaking.ErrTicketNotFound) {
			continue
		}
		if err != nil {
			return out, err
		}
		if n == 1 {
			out = append(out, id)
		}
	}
	return out, nil
}

// Commit implements matchmaking.TicketStore.
func (s *TicketStore) Commit(ctx context.Context, holder string, m matchmaking.TicketMatch, now time.Time) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	keys := []string{s.leaseKey(), s.queueKey(m.Mode), s.endedKey(), s.liveKey(m.Mode)}
	var pairs []any
	argv := []any{holder, ticketMS(now), s.gc.Milliseconds(), len(m.Tickets), 0}
	for _, tr := range m.Tickets {
		keys = append(keys, s.ticketKey(tr.ID))
		res := make(map[player.ID]ticketRes, len(tr.Reservations))
		for _, r := range tr.Reservations {
			res[r.Player] = ticketRes{RoomID: r.RoomID, RoomType: r.RoomType, Code: r.Code, SeatToken: r.SeatToken,
				ExpiresAt: r.ExpiresAt.UnixMilli(), Node: r.Node, WSURL: r.WSURL}
			pairs = append(pairs, string(r.Player), tr.ID)
		}
		b, err := json.Marshal(res)
		if err != nil {
			return nil, err
		}
		argv = append(argv, tr.ID, tr.Team, ticketFloat(tr.Window), string(b))
	}
	argv[4] = len(pairs) / 2
	argv = append(argv, pairs...)
	r, err := ticketCommitScript.Run(ctx, s.rdb, keys, argv...).Slice()
	if err != nil {
		return nil, ticketUnavailable("commit", err)
	}
	if len(r) == 0 {
		return nil, fmt.Errorf("cluster: tickets: commit: empty answer")
	}
	switch code, _ := r[0].(int64); code {
	case 1:
		return nil, nil
	case -1:
		return nil, matchmaking.ErrTicketLeaseLost
	default:
		stale := make([]string, 0, len(r)-1)
		for _, v := range r[1:] {
			id, _ := v.(string)
			stale = append(stale, id)
		}
		return stale, nil
	}
}

// Forget implements matchmaking.TicketStore. Ended tickets never change,
// so no script is needed: it deletes them in batches.
func (s *TicketStore) Forget(ctx context.Context, endedBefore time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	for {
		ids, err := s.rdb.ZRangeByScore(ctx, s.endedKey(), &redis.ZRangeBy{Min: "-inf", Max: "(" + ticketMS(endedBefore), Count: 512}).Result()
		if err != nil {
			return ticketUnavailable("forget", err)
		}
		if len(ids) == 0 {
			return nil
		}
		pipe := s.rdb.Pipeline()
		for _, id := range ids {
			pipe.Del(ctx, s.ticketKey(id))
		}
		members := make([]any, len(ids))
		for i, id := range ids {
			members[i] = id
		}
		pipe.ZRem(ctx, s.endedKey(), members...)
		if _, err := pipe.Exec(ctx); err != nil {
			return ticketUnavailable("forget", err)
		}
		if len(ids) < 512 {
			return nil
		}
	}
}

// Lead implements matchmaking.TicketStore.
func (s *TicketStore) Lead(ctx context.Context, holder string, now time.Time, ttl time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	n, err := ticketLeadScript.Run(ctx, s.rdb, []string{s.leaseKey()}, holder, ticketMS(now), ticketMS(now.Add(ttl))).Int64()
	if err != nil {
		return false, ticketUnavailable("lead", err)
	}
	return n == 1, nil
}

// Resign implements matchmaking.TicketStore.
func (s *TicketStore) Resign(ctx context.Context, holder string) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := ticketResignScript.Run(ctx, s.rdb, []string{s.leaseKey()}, holder).Err(); err != nil {
		return ticketUnavailable("resign", err)
	}
	return nil
}
