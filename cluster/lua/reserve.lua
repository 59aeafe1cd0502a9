-- reserve: ARGV 3 node, 4 epoch, 5 type, 6 roomID, 7 code, 8 create,
-- 9 private, 10 filters JSON, 11 meta JSON, 12 cap, 13 n, 14 exp ms,
-- 15 seat GC ms, 16 new room ID, 17 #codes, codes..., n seat keys, n players.
local node, epoch, typ = ARGV[3], ARGV[4], ARGV[5]
local roomID, code = ARGV[6], ARGV[7]
local want_create, private = ARGV[8] == '1', ARGV[9]
local cap, n, exp, gc = tonumber(ARGV[12]), tonumber(ARGV[13]), ARGV[14], ARGV[15]
local newID = ARGV[16]
local nc = tonumber(ARGV[17])
local codes = {}
for i = 1, nc do codes[i] = ARGV[17 + i] end
local base = 17 + nc

local id, r
if roomID ~= '' or code ~= '' then
  id, r = lookup(roomID, code, typ)
  if not id then return {'err', 'NOTFOUND'} end
  -- a draining node's room takes no one new (its node refuses connections)
  if r.locked == '1' or draining(r.node) then return {'err', 'LOCKED'} end
  if tonumber(r.seats) + reserved(id) + n > tonumber(r.cap) then return {'err', 'FULL'} end
else
  if n > cap then return {'err', 'FULL'} end
  local filters = cjson.decode(ARGV[10])
  if not want_create then
    id, r = first_open(typ, n, function(_, c)
      return owner_live(c) and not draining(c.node) and has_all(cjson.decode(c.meta), filters)
    end)
  end
  if not id then
    -- the least-loaded live node that is not draining; ties go to the
    -- caller, then by ID
    local best, bestEp, bestLoad = false, false, 0
    for _, cand in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', '(' .. NOWS, '+inf')) do
      local ep = live_epoch(cand)
      if ep and not draining(cand) then
        local l = tonumber(redis.call('HGET', P .. 'node:' .. cand, 'load') or '0')
        if not best or l < bestLoad or (l == bestLoad and (cand == node or (best ~= node and cand < best))) then
          best, bestEp, bestLoad = cand, ep, l
        end
      end
    end
    if not best then return {'err', 'NONODE'} end
    local c = ''
    if private == '1' then
      c = free_code(codes)
      if not c then return {'err', 'CODES'} end
    end
    if redis.call('EXISTS', P .. 'room:' .. newID) == 1 then return {'err', 'IDTAKEN'} end
    local pending = '1'
    if best == node and bestEp == epoch then pending = '0' end
    id = newID
    r = create(id, typ, best, bestEp, cap, 0, private, c, ARGV[11], pending)
  end
end

local rk = P .. 'res:' .. id
redis.call('ZREMRANGEBYSCORE', rk, '-inf', NOWS)
for i = 1, n do
  local k, p = ARGV[base + i], ARGV[base + n + i]
  local sk = P .. 'seat:' .. k
  redis.call('HSET', sk, 'player', p, 'room', id, 'exp', exp)
  redis.call('PEXPIRE', sk, gc)
  redis.call('ZADD', rk, exp, k)
end
addload(r.node, n)
return placement(id, reindex(id))
