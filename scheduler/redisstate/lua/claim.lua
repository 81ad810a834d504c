-- Claim leases the first operation among the named queues (lowest
-- priority, then lowest sequence).
-- ARGV: token, worker id, lease expiry ns, lease expiry µs, token ttl ms,
-- queue keys...
-- Returns {'claimed', HGETALL} | {'empty'}.
local P, token, worker = KEYS[1], ARGV[1], ARGV[2]
local tk = P .. 'claim:' .. token
local prev = redis.call('GET', tk)
if prev then
  -- A retry of this very call: hand out the same lease, if still held.
  local opk = P .. 'op:' .. prev
  local cur = redis.call('HMGET', opk, 'st', 'lid')
  if cur[1] == EXECUTING and cur[2] == prev .. '/' .. token then
    return {'claimed', redis.call('HGETALL', opk)}
  end
  return {'empty'}
end
-- Each round either claims or drops one stale member; the bound only
-- keeps a damaged index from holding Redis for long.
for _ = 1, 64 do
  local bestKey, bestMember, bestScore
  for i = 6, #ARGV do
    local head = redis.call('ZRANGE', P .. 'q:' .. ARGV[i], 0, 0, 'WITHSCORES')
    if head[1] then
      local score = tonumber(head[2])
      if not bestMember or score < bestScore or (score == bestScore and head[1] < bestMember) then
        bestKey, bestMember, bestScore = ARGV[i], head[1], score
      end
    end
  end
  if not bestMember then
    return {'empty'}
  end
  local id = string.sub(bestMember, 18)
  local opk = P .. 'op:' .. id
  local cur = redis.call('HMGET', opk, 'st', 'seq', 'dk')
  if cur[1] == QUEUED then
    redis.call('HSET', opk, 'st', EXECUTING, 'lid', id .. '/' .. token, 'lw', worker, 'lexp', ARGV[3], 'n', token)
    redis.call('HINCRBY', opk, 'att', 1)
    local v = redis.call('HINCRBY', opk, 'v', 1)
    reindex(P, id, {st = QUEUED, seq = cur[2]}, {st = EXECUTING, seq = cur[2], qk = bestKey,
      lexp = ARGV[4], dk = cur[3], v = v})
    redis.call('SET', tk, id, 'PX', ARGV[5])
    return {'claimed', redis.call('HGETALL', opk)}
  end
  -- The operation is gone or left the queue without its member: drop it.
  redis.call('ZREM', P .. 'q:' .. bestKey, bestMember)
  redis.call('ZREM', P .. 'qt:' .. bestKey, id)
  if redis.call('EXISTS', P .. 'q:' .. bestKey) == 0 then
    redis.call('SREM', P .. 'queues', bestKey)
  end
end
return {'empty'}
