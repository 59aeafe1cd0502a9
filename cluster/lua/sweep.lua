-- sweep: ARGV 3 dead node, 4 token GC ms. Runs only if that node's lease
-- deadline has passed: removes its rooms (those whose owner tuple is
-- still that node's), its presence entries and its lease; its resume
-- token records stay until GC so FindToken answers "gone".
local node, gc = ARGV[3], ARGV[4]
local dl = redis.call('ZSCORE', P .. 'nodes', node)
if dl and tonumber(dl) > NOW then return -1 end
local nk = P .. 'node:' .. node
local ep = redis.call('HGET', nk, 'epoch')
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', nk .. ':rooms')) do
  local r = hash(P .. 'room:' .. id)
  if r and r.node == node and (not ep or r.epoch == ep) then
    drop_room(id, r)
    n = n + 1
  end
end
for _, k in ipairs(redis.call('SMEMBERS', nk .. ':toks')) do
  redis.call('PEXPIRE', P .. 'tok:' .. k, gc)
end
for _, p in ipairs(redis.call('SMEMBERS', nk .. ':pres')) do
  if not ep or redis.call('HGET', P .. 'pres:' .. p, node) == ep then
    redis.call('HDEL', P .. 'pres:' .. p, node)
  end
end
redis.call('DEL', nk, nk .. ':rooms', nk .. ':toks', nk .. ':pres')
redis.call('ZREM', P .. 'nodes', node)
return n
