-- leave: ARGV 3 node, 4 epoch. A graceful exit: removes the node's rooms,
-- tokens, presence entries and lease, if it still owns them.
local node, epoch = ARGV[3], ARGV[4]
local nk = P .. 'node:' .. node
if redis.call('HGET', nk, 'epoch') ~= epoch then return 0 end
for _, id in ipairs(redis.call('SMEMBERS', nk .. ':rooms')) do
  local r = hash(P .. 'room:' .. id)
  if r and r.node == node and r.epoch == epoch then drop_room(id, r) end
end
local pre = node .. '|' .. epoch .. '|'
for _, k in ipairs(redis.call('SMEMBERS', nk .. ':toks')) do
  local v = redis.call('GET', P .. 'tok:' .. k)
  if v and string.sub(v, 1, #pre) == pre then redis.call('DEL', P .. 'tok:' .. k) end
end
for _, p in ipairs(redis.call('SMEMBERS', nk .. ':pres')) do
  if redis.call('HGET', P .. 'pres:' .. p, node) == epoch then redis.call('HDEL', P .. 'pres:' .. p, node) end
end
redis.call('DEL', nk, nk .. ':rooms', nk .. ':toks', nk .. ':pres')
redis.call('ZREM', P .. 'nodes', node)
return 1
