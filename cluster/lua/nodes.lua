-- nodes (read only): live nodes as id, ws_url, load, deadline ms, draining.
local out = {}
local a = redis.call('ZRANGEBYSCORE', P .. 'nodes', '(' .. NOWS, '+inf', 'WITHSCORES')
for i = 1, #a, 2 do
  local h = hash(P .. 'node:' .. a[i])
  if h then
    out[#out + 1] = a[i]
    out[#out + 1] = h.ws_url or ''
    out[#out + 1] = h.load or '0'
    out[#out + 1] = a[i + 1]
    out[#out + 1] = h.draining or '0'
  end
end
return out
