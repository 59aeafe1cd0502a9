-- assert: re-assert a room this node runs. ARGV 3 node, 4 epoch, 5 id,
-- 6 type, 7 cap, 8 seats, 9 locked, 10 private, 11 code, 12 meta JSON.
-- Returns {'ok', fence} or {'taken', other node}.
local node, epoch, id, typ = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local cap, seats, locked, private, code, meta = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12]
local key = P .. 'room:' .. id
local r = hash(key)
if r and (r.node ~= node or r.epoch ~= epoch) then
  if owner_live(r) then return {'taken', r.node} end
  drop_room(id, r)
  r = nil
end
if code ~= '' then
  local holder = redis.call('GET', P .. 'code:' .. code)
  if holder and holder ~= id and redis.call('EXISTS', P .. 'room:' .. holder) == 1 then code = '' end
end
if not r then
  r = create(id, typ, node, epoch, cap, seats, private, code, meta, '0')
  redis.call('HSET', key, 'locked', locked)
  reindex(id)
  return {'ok', tostring(r.fence)}
end
redis.call('HSET', key, 'type', typ, 'cap', cap, 'seats', seats, 'locked', locked, 'private', private,
  'code', code, 'meta', meta, 'pending', '0')
redis.call('ZADD', P .. 'type:' .. typ, r.fence, id)
redis.call('ZADD', P .. 'rooms', r.fence, id)
redis.call('SADD', P .. 'node:' .. node .. ':rooms', id)
if code ~= '' then redis.call('SET', P .. 'code:' .. code, id) end
reindex(id)
return {'ok', tostring(r.fence)}
