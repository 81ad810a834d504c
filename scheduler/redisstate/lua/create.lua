-- Create stores a new operation, or answers with the in-flight operation of
-- the same dedup key when the join policy allows.
-- ARGV: id, nonce, dedup key, join (0 none, 1 any, 2 started), blob,
-- stage, priority, queue key, queued-at µs, attempt, lease id, lease
-- worker, lease expiry ns, lease expiry µs, done-at µs, retention ms.
-- Returns {'created', version, seq} | {'joined', HGETALL} | {'exists'}.
local P, id, nonce = KEYS[1], ARGV[1], ARGV[2]
local opk = P .. 'op:' .. id
if redis.call('EXISTS', opk) == 1 then
  local got = redis.call('HMGET', opk, 'n', 'v', 'seq')
  if got[1] == nonce then
    return {'created', got[2], got[3]} -- a retry of this very call
  end
  return {'exists'}
end
local dk, join = ARGV[3], ARGV[4]
local register = join ~= '0' and dk ~= ''
if register then
  local other = redis.call('HGET', P .. 'inflight', dk)
  if other then
    local st = redis.call('HGET', P .. 'op:' .. other, 'st')
    if st and st ~= COMPLETED then
      if join == '1' or st == QUEUED or st == EXECUTING then
        return {'joined', redis.call('HGETALL', P .. 'op:' .. other)}
      end
      register = false -- keep the operation that is checking the cache
    end
  end
end
local st = ARGV[6]
local seq = 0
if st == QUEUED then
  seq = redis.call('INCR', P .. 'seq')
end
redis.call('HSET', opk, 'd', ARGV[5], 'v', 1, 'st', st, 'seq', seq, 'att', ARGV[10],
  'lid', ARGV[11], 'lw', ARGV[12], 'lexp', ARGV[13], 'pr', ARGV[7], 'qk', ARGV[8], 'dk', dk, 'n', nonce)
if register and st ~= COMPLETED then
  redis.call('HSET', P .. 'inflight', dk, id)
end
reindex(P, id, {st = false}, {st = st, seq = seq, qk = ARGV[8], pr = ARGV[7], qat = ARGV[9],
  lexp = ARGV[14], dk = dk, done = ARGV[15], ttl = ARGV[16], v = 1})
return {'created', 1, seq}
