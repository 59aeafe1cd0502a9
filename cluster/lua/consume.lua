-- consume: ARGV 3 node, 4 epoch, 5 seat key, 6 player, 7 tombstone ms.
local node, epoch, k, p = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local tomb = tonumber(ARGV[7])
local sk = P .. 'seat:' .. k
local s = hash(sk)
if not s or s.player ~= p then return {'err', 'INVALID'} end
local id = s.room
local exp = tonumber(s.exp)
if exp <= NOW then
  redis.call('ZREM', P .. 'res:' .. id, k)
  if NOW < exp + tomb then return {'err', 'EXPIRED'} end
  redis.call('DEL', sk)
  return {'err', 'INVALID'}
end
local key = P .. 'room:' .. id
local r = hash(key)
if not r then
  redis.call('DEL', sk)
  redis.call('ZREM', P .. 'res:' .. id, k)
  return {'err', 'NOTFOUND'}
end
if not owner_live(r) then return {'err', 'NOTFOUND'} end
if r.node ~= node or r.epoch ~= epoch then return placement(id, r) end
redis.call('DEL', sk)
redis.call('ZREM', P .. 'res:' .. id, k)
redis.call('HINCRBY', key, 'seats', 1)
redis.call('HSET', key, 'pending', '0')
return placement(id, reindex(id))
