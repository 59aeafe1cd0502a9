-- renew: ARGV 3 node, 4 epoch, 5 lease deadline ms, 6 GC ms (0: leave
-- room TTLs alone this time), 7 node GC ms. Returns the
-- node's load (seats + live reservations), or -1 if the lease was lost
-- (the node hash is gone or names another epoch): register again.
local node, epoch, dl, gc = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local nk = P .. 'node:' .. node
if redis.call('HGET', nk, 'epoch') ~= epoch then return -1 end
local load = 0
for _, id in ipairs(redis.call('SMEMBERS', nk .. ':rooms')) do
  local r = hash(P .. 'room:' .. id)
  if not r then
    redis.call('SREM', nk .. ':rooms', id)
    redis.call('ZREM', P .. 'rooms', id)
  elseif r.node == node and r.epoch == epoch then
    local res = reserved(id)
    if r.pending == '1' and res == 0 then
      drop_room(id, r)
    else
      load = load + tonumber(r.seats) + res
      if gc ~= '0' then redis.call('PEXPIRE', P .. 'room:' .. id, gc) end
    end
  end
end
redis.call('HSET', nk, 'load', load)
redis.call('PEXPIRE', nk, ARGV[7])
redis.call('ZADD', P .. 'nodes', dl, node)
return load
