-- send: ARGV 3 this node, 4 player, 5 payload. Publishes payload to every
-- other live node that has the player online; returns how many.
local self, p, payload = ARGV[3], ARGV[4], ARGV[5]
local a = redis.call('HGETALL', P .. 'pres:' .. p)
local n = 0
for i = 1, #a, 2 do
  local node, ep = a[i], a[i + 1]
  if node ~= self and live_epoch(node) == ep then
    redis.call('PUBLISH', P .. 'n:' .. node, payload)
    n = n + 1
  end
end
return n
