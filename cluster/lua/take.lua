-- take: ARGV 3 node, 4 epoch, 5 type, 6 roomID, 7 code, 8 create,
-- 9 private, 10 meta JSON, 11 cap, 12 new room ID, 13 #codes, codes...
local node, epoch, typ = ARGV[3], ARGV[4], ARGV[5]
local roomID, code = ARGV[6], ARGV[7]
local want_create, private = ARGV[8] == '1', ARGV[9]
local cap, newID = tonumber(ARGV[11]), ARGV[12]
local nc = tonumber(ARGV[13])
local codes = {}
for i = 1, nc do codes[i] = ARGV[13 + i] end

local function count(id, r)
  local key = P .. 'room:' .. id
  redis.call('HINCRBY', key, 'seats', 1)
  redis.call('HSET', key, 'pending', '0')
  addload(node, 1)
  return placement(id, reindex(id))
end

if roomID ~= '' or code ~= '' then
  local id, r = lookup(roomID, code, typ)
  if not id then return {'err', 'NOTFOUND'} end
  if r.locked == '1' then return {'err', 'LOCKED'} end
  if tonumber(r.seats) + reserved(id) + 1 > tonumber(r.cap) then return {'err', 'FULL'} end
  if r.node ~= node or r.epoch ~= epoch then return placement(id, r) end
  return count(id, r)
end

if cap < 1 then return {'err', 'FULL'} end
if not want_create then
  unhold(typ)
  for _, cid in ipairs(redis.call('ZRANGE', P .. 'open:' .. typ, 0, -1)) do
    local c = hash(P .. 'room:' .. cid)
    if not c then
      redis.call('ZREM', P .. 'open:' .. typ, cid)
      redis.call('ZREM', P .. 'type:' .. typ, cid)
    elseif stale(cid, c) then
      drop_room(cid, c)
    elseif c.node == node and c.epoch == epoch and c.private == '0' and c.locked == '0'
      and tonumber(c.seats) + reserved(cid) + 1 <= tonumber(c.cap) then
      return count(cid, c)
    end
  end
end
local c = ''
if private == '1' then
  c = free_code(codes)
  if not c then return {'err', 'CODES'} end
end
if redis.call('EXISTS', P .. 'room:' .. newID) == 1 then return {'err', 'IDTAKEN'} end
addload(node, 1)
return placement(newID, create(newID, typ, node, epoch, cap, 1, private, c, ARGV[10], '0'))
