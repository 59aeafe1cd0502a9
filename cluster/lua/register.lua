-- register: ARGV 3 node, 4 epoch, 5 ws_url, 6 lease deadline ms, 7 GC ms,
-- 8 draining ('1' or '0').
-- Writes the node hash and lease, and drops rooms left by an earlier
-- incarnation (another epoch) of the same node ID.
local node, epoch, ws, dl, gc = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local nk = P .. 'node:' .. node
redis.call('HSET', nk, 'ws_url', ws, 'epoch', epoch, 'load', 0, 'draining', ARGV[8])
redis.call('PEXPIRE', nk, gc)
redis.call('ZADD', P .. 'nodes', dl, node)
for _, id in ipairs(redis.call('SMEMBERS', nk .. ':rooms')) do
  local r = hash(P .. 'room:' .. id)
  if not r then
    redis.call('SREM', nk .. ':rooms', id)
    redis.call('ZREM', P .. 'rooms', id)
  elseif r.node == node and r.epoch ~= epoch then
    drop_room(id, r)
  end
end
return 1
