-- TouchWorker records that a known worker was seen.
-- ARGV: worker id, seen µs, ttl ms. Returns 1, or 0 for an unknown worker.
local P, id = KEYS[1], ARGV[1]
local wk = P .. 'w:' .. id
if redis.call('PEXPIRE', wk, ARGV[3]) == 0 then
  redis.call('ZREM', P .. 'workers', id)
  return 0
end
redis.call('ZADD', P .. 'workers', ARGV[2], id)
return 1
