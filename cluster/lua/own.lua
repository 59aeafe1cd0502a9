-- own: an owner-side write, applied only if the record's owner tuple is
-- this node's (node, epoch). ARGV 3 node, 4 epoch, 5 op, 6 id, 7 arg.
-- Returns 1 applied, 0 refused (another owner, or dispose kept the room),
-- 2 nothing to do (no such record).
local node, epoch, op, id, arg = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]

if op == 'puttok' then
  redis.call('SET', P .. 'tok:' .. id, node .. '|' .. epoch .. '|' .. arg)
  redis.call('SADD', P .. 'node:' .. node .. ':toks', id)
  return 1
elseif op == 'droptok' then
  redis.call('SREM', P .. 'node:' .. node .. ':toks', id)
  local v = redis.call('GET', P .. 'tok:' .. id)
  if not v then return 2 end
  if string.sub(v, 1, #node + #epoch + 2) ~= node .. '|' .. epoch .. '|' then return 0 end
  redis.call('DEL', P .. 'tok:' .. id)
  return 1
elseif op == 'online' then
  redis.call('HSET', P .. 'pres:' .. id, node, epoch)
  redis.call('SADD', P .. 'node:' .. node .. ':pres', id)
  return 1
elseif op == 'offline' then
  redis.call('SREM', P .. 'node:' .. node .. ':pres', id)
  if redis.call('HGET', P .. 'pres:' .. id, node) ~= epoch then return 2 end
  redis.call('HDEL', P .. 'pres:' .. id, node)
  return 1
end

local key = P .. 'room:' .. id
local r = hash(key)
if not r then return 2 end
if r.node ~= node or r.epoch ~= epoch then
  if op == 'dispose' then return 2 end
  return 0
end
if op == 'release' then
  if tonumber(r.seats) > 0 then
    redis.call('HINCRBY', key, 'seats', -1)
    addload(node, -1)
  end
  reindex(id)
elseif op == 'lock' then
  redis.call('HSET', key, 'locked', arg)
  reindex(id)
elseif op == 'meta' then
  redis.call('HSET', key, 'meta', arg)
elseif op == 'dispose' then
  if tonumber(r.seats) > 0 or reserved(id) > 0 then return 0 end
  drop_room(id, r)
elseif op == 'remove' then
  drop_room(id, r)
else
  return redis.error_reply('own: unknown op ' .. op)
end
return 1
