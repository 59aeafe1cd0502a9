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
  local id, r = first_open(typ, 1, function(_, c) return c.node == node and c.epoch == epoch end)
  if id then return count(id, r) end
end
local c = ''
if private == '1' then
  c = free_code(codes)
  if not c then return {'err', 'CODES'} end
end
if redis.call('EXISTS', P .. 'room:' .. newID) == 1 then return {'err', 'IDTAKEN'} end
addload(node, 1)
return placement(newID, create(newID, typ, node, epoch, cap, 1, private, c, ARGV[10], '0'))
