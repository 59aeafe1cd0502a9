-- drain: ARGV 3 node, 4 epoch. Marks the node draining (placement and
-- join-or-create skip it and its rooms) if its hash names this epoch.
-- Returns 1, or 0 if the lease record is gone or another epoch's.
local nk = P .. 'node:' .. ARGV[3]
if redis.call('HGET', nk, 'epoch') ~= ARGV[4] then return 0 end
redis.call('HSET', nk, 'draining', '1')
return 1
