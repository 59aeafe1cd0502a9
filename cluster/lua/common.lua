-- common.lua is prepended to every script. ARGV[1] is the key prefix,
-- ARGV[2] the caller's clock in Unix milliseconds (deadlines are compared
-- with it, never with Redis TIME, and never depend on key TTLs).
local P = ARGV[1]
local NOWS = ARGV[2]
local NOW = tonumber(NOWS)

-- hash returns the fields of a hash as a table, or nil if it is missing.
local function hash(key)
  local a = redis.call('HGETALL', key)
  if #a == 0 then return nil end
  local t = {}
  for i = 1, #a, 2 do t[a[i]] = a[i + 1] end
  return t
end

-- live_epoch returns the epoch of node n if its lease is live, else false.
local lives = {}
local function live_epoch(n)
  local c = lives[n]
  if c ~= nil then return c end
  local ep = false
  local dl = redis.call('ZSCORE', P .. 'nodes', n)
  if dl and tonumber(dl) > NOW then
    ep = redis.call('HGET', P .. 'node:' .. n, 'epoch')
  end
  lives[n] = ep
  return ep
end

-- draining: node n is draining (shutting down): placement and
-- join-or-create skip it and its rooms.
local drains = {}
local function draining(n)
  local d = drains[n]
  if d ~= nil then return d end
  d = redis.call('HGET', P .. 'node:' .. n, 'draining') == '1'
  drains[n] = d
  return d
end

-- owner_live: the room's owner tuple names a live node incarnation.
local function owner_live(r)
  local ep = live_epoch(r.node)
  return ep ~= false and ep == r.epoch
end

-- reserved counts the live reservations of room id.
local function reserved(id)
  return tonumber(redis.call('ZCOUNT', P .. 'res:' .. id, '(' .. NOWS, '+inf'))
end

local function ws_of(n)
  return redis.call('HGET', P .. 'node:' .. n, 'ws_url') or ''
end

-- stale: the room can never take a player again: its node lives under
-- another epoch (a restarted process), or it was created for a node that
-- never took it and no reservation holds it.
local function stale(id, r)
  local ep = live_epoch(r.node)
  if ep and ep ~= r.epoch then return true end
  if r.pending == '1' and reserved(id) == 0 then return true end
  return false
end

-- addload adjusts node n's load (seats + live reservations) between
-- renewals, which recompute it exactly (expired reservations count until
-- then).
local function addload(n, delta)
  local nk = P .. 'node:' .. n
  if delta ~= 0 and redis.call('EXISTS', nk) == 1 then redis.call('HINCRBY', nk, 'load', delta) end
end

-- drop_room removes a room and every index naming it.
local function drop_room(id, r)
  addload(r.node, -(tonumber(r.seats) + reserved(id)))
  redis.call('DEL', P .. 'room:' .. id, P .. 'res:' .. id)
  redis.call('ZREM', P .. 'type:' .. r.type, id)
  redis.call('ZREM', P .. 'open:' .. r.type, id)
  redis.call('ZREM', P .. 'held:' .. r.type, id)
  redis.call('ZREM', P .. 'rooms', id)
  redis.call('SREM', P .. 'node:' .. r.node .. ':rooms', id)
  if r.code and r.code ~= '' and redis.call('GET', P .. 'code:' .. r.code) == id then
    redis.call('DEL', P .. 'code:' .. r.code)
  end
end

-- reindex files a room after it changed: in P open:<type> if
-- join-or-create may pick it (public, unlocked, seats plus live
-- reservations below capacity); in P held:<type>, scored by its earliest
-- reservation deadline, if only reservations fill it; else in neither.
local function reindex(id)
  local r = hash(P .. 'room:' .. id)
  if not r then return nil end
  local okey, hkey = P .. 'open:' .. r.type, P .. 'held:' .. r.type
  local seats, cap = tonumber(r.seats), tonumber(r.cap)
  if r.private ~= '0' or r.locked ~= '0' or seats >= cap then
    redis.call('ZREM', okey, id)
    redis.call('ZREM', hkey, id)
    return r
  end
  if seats + reserved(id) < cap then
    redis.call('ZADD', okey, r.fence, id)
    redis.call('ZREM', hkey, id)
  else
    local first = redis.call('ZRANGEBYSCORE', P .. 'res:' .. id, '(' .. NOWS, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    redis.call('ZREM', okey, id)
    redis.call('ZADD', hkey, first[2], id)
  end
  return r
end

-- unhold moves rooms whose holding reservation has expired back to open.
local function unhold(typ)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'held:' .. typ, '-inf', NOWS)) do
    if not reindex(id) then redis.call('ZREM', P .. 'held:' .. typ, id) end
  end
end

-- placement is the reply naming a room: ok, id, type, private, code,
-- meta (JSON), node, ws_url, fence.
local function placement(id, r)
  return {'ok', id, r.type, r.private, r.code or '', r.meta or '{}', r.node, ws_of(r.node), tostring(r.fence)}
end

local function has_all(meta, filters)
  for k, v in pairs(filters) do
    if meta[k] ~= v then return false end
  end
  return true
end

-- free_code returns the first candidate code not naming a room.
local function free_code(codes)
  for _, c in ipairs(codes) do
    local id = redis.call('GET', P .. 'code:' .. c)
    if not id or redis.call('EXISTS', P .. 'room:' .. id) == 0 then return c end
  end
  return false
end

-- create writes a new room record owned by node (epoch ep) and indexes it.
local function create(id, typ, node, ep, cap, seats, private, code, meta, pending)
  local fence = redis.call('INCR', P .. 'fence')
  redis.call('HSET', P .. 'room:' .. id, 'type', typ, 'node', node, 'epoch', ep, 'fence', fence,
    'cap', cap, 'seats', seats, 'locked', '0', 'private', private, 'code', code, 'meta', meta, 'pending', pending)
  redis.call('ZADD', P .. 'type:' .. typ, fence, id)
  redis.call('ZADD', P .. 'rooms', fence, id)
  redis.call('SADD', P .. 'node:' .. node .. ':rooms', id)
  if code ~= '' then redis.call('SET', P .. 'code:' .. code, id) end
  return reindex(id)
end

-- lookup finds a usable room by ID or code (write scripts only: it drops
-- stale records). Returns id, record or nil.
local function lookup(id, code, typ)
  if code ~= '' then
    id = redis.call('GET', P .. 'code:' .. code)
    if not id then return nil end
  end
  local r = hash(P .. 'room:' .. id)
  if not r then return nil end
  if stale(id, r) then drop_room(id, r); return nil end
  if not owner_live(r) then return nil end
  if typ ~= '' and r.type ~= typ then return nil end
  return id, r
end

-- first_open returns the first room of the join-or-create index of typ
-- with n free seats (seats + live reservations), public and unlocked, for
-- which accept(id, r) holds; it forgets rooms it finds missing or stale
-- on the way. Reservations that held rooms full are expired first.
local function first_open(typ, n, accept)
  unhold(typ)
  for _, cid in ipairs(redis.call('ZRANGE', P .. 'open:' .. typ, 0, -1)) do
    local c = hash(P .. 'room:' .. cid)
    if not c then
      redis.call('ZREM', P .. 'open:' .. typ, cid)
      redis.call('ZREM', P .. 'type:' .. typ, cid)
    elseif stale(cid, c) then
      drop_room(cid, c)
    elseif c.private == '0' and c.locked == '0'
      and tonumber(c.seats) + reserved(cid) + n <= tonumber(c.cap) and accept(cid, c) then
      return cid, c
    end
  end
  return nil
end
