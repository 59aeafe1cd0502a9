-- list (read only): ARGV 3 type ("" for all). Per room: id, type,
-- players, cap, locked, private, code, meta, node, ws_url, draining.
local typ = ARGV[3]
local key = P .. 'rooms'
if typ ~= '' then key = P .. 'type:' .. typ end
local out = {}
for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
  local r = hash(P .. 'room:' .. id)
  if r and owner_live(r) then
    local res = reserved(id)
    if r.pending ~= '1' or res > 0 then
      local row = {id, r.type, tostring(tonumber(r.seats) + res), r.cap, r.locked, r.private, r.code or '', r.meta or '{}', r.node, ws_of(r.node), draining(r.node) and '1' or '0'}
      for _, v in ipairs(row) do out[#out + 1] = v end
    end
  end
end
return out
