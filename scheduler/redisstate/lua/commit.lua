-- Commit stores the result of an Update if the operation is still at the
-- version the update read (optimistic concurrency).
-- ARGV: id, expected version, nonce, blob, stage, attempt, lease touched
-- (1/0), lease id, lease worker, lease expiry ns, lease expiry µs,
-- queued-at µs, done-at µs, retention ms.
-- Returns {'committed', version, seq} | {'conflict'} | {'notfound'}.
local P, id, nonce = KEYS[1], ARGV[1], ARGV[3]
local opk = P .. 'op:' .. id
local cur = redis.call('HMGET', opk, 'v', 'st', 'seq', 'qk', 'pr', 'dk', 'n')
if not cur[1] then
  return {'notfound'}
end
if cur[1] ~= ARGV[2] then
  if cur[7] == nonce then
    return {'committed', cur[1], cur[3]} -- a retry of this very call
  end
  return {'conflict'}
end
local st = ARGV[5]
local seq = tonumber(cur[3])
if st == QUEUED and seq == 0 then
  seq = redis.call('INCR', P .. 'seq')
end
local v = tonumber(cur[1]) + 1
redis.call('HSET', opk, 'd', ARGV[4], 'v', v, 'st', st, 'seq', seq, 'att', ARGV[6], 'n', nonce)
-- A renewal moves the expiry without a new version; an update that left
-- the lease alone must not undo it.
local lexp = false
if ARGV[7] == '1' then
  redis.call('HSET', opk, 'lid', ARGV[8], 'lw', ARGV[9], 'lexp', ARGV[10])
  lexp = ARGV[11]
elseif cur[2] ~= EXECUTING then
  lexp = ARGV[11]
end
reindex(P, id, {st = cur[2], seq = cur[3]}, {st = st, seq = seq, qk = cur[4], pr = cur[5],
  qat = ARGV[12], lexp = lexp, dk = cur[6], done = ARGV[13], ttl = ARGV[14], v = v})
return {'committed', v, seq}
