-- findtoken (read only): ARGV 3 token key. Returns {0} unknown,
-- {1, ws_url} owner alive, {2} owner gone.
local v = redis.call('GET', P .. 'tok:' .. ARGV[3])
if not v then return {0} end
local node, epoch = string.match(v, '^([^|]*)|([^|]*)|')
if node and live_epoch(node) == epoch then return {1, ws_of(node)} end
return {2}
