-- presence (read only): ARGV 3 player. The live nodes that have the
-- player online.
local a = redis.call('HGETALL', P .. 'pres:' .. ARGV[3])
local out = {}
for i = 1, #a, 2 do
  if live_epoch(a[i]) == a[i + 1] then out[#out + 1] = a[i] end
end
return out
