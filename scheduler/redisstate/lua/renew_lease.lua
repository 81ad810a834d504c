-- RenewLease moves a held lease's expiry. It is not a change watchers see:
-- no new version, nothing published.
-- ARGV: id, lease id, worker id, expiry ns, expiry µs.
-- Returns 'ok' | 'notheld' | 'notfound'.
local P, id = KEYS[1], ARGV[1]
local opk = P .. 'op:' .. id
local cur = redis.call('HMGET', opk, 'st', 'lid', 'lw')
if not cur[1] then
  return 'notfound'
end
if cur[1] ~= EXECUTING or cur[2] ~= ARGV[2] or cur[3] ~= ARGV[3] then
  return 'notheld'
end
redis.call('HSET', opk, 'lexp', ARGV[4])
redis.call('ZADD', P .. 'leases', ARGV[5], id)
return 'ok'
