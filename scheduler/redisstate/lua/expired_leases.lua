-- ExpiredLeases lists candidates whose expiry, in µs, is not after now; the
-- caller compares the exact expiries. ARGV: now µs, limit.
-- Returns {id, lease id, lease expiry ns, ...}.
local P = KEYS[1]
local ids = redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local out = {}
for _, id in ipairs(ids) do
  local cur = redis.call('HMGET', P .. 'op:' .. id, 'st', 'lid', 'lexp')
  if cur[1] == EXECUTING then
    out[#out + 1] = id
    out[#out + 1] = cur[2]
    out[#out + 1] = cur[3]
  else
    redis.call('ZREM', P .. 'leases', id) -- its operation expired
  end
end
return out
