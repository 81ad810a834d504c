-- Helpers of the scripts that change operations. Every script gets the key
-- prefix as KEYS[1] (so that a cluster client routes it by the prefix's
-- hash tag) and names every other key from it.

-- qmember is an operation's member in its queue: members of equal score
-- (priority) sort by their bytes, so a zero-padded queue sequence first
-- makes them FIFO.
local function qmember(seq, id)
  return string.format('%016x', tonumber(seq)) .. ':' .. id
end

-- reindex moves operation id from old to new in every index and publishes
-- the change. old.st is false while the operation is being created.
-- Fields: st stage, seq queue sequence, qk queue key, pr priority, qat
-- queued-at (µs), lexp lease expiry (µs, false to leave the lease index
-- alone), dk dedup key, done done-at (µs), ttl retention (ms), v the new
-- version, published with the id so that waiters can skip changes they
-- have already seen.
local function reindex(P, id, old, new)
  local wasQ, isQ = old.st == QUEUED, new.st == QUEUED
  if wasQ and not isQ then
    local q = P .. 'q:' .. new.qk
    redis.call('ZREM', q, qmember(old.seq, id))
    redis.call('ZREM', P .. 'qt:' .. new.qk, id)
    if redis.call('EXISTS', q) == 0 then
      redis.call('SREM', P .. 'queues', new.qk)
    end
  elseif isQ and not wasQ then
    redis.call('ZADD', P .. 'q:' .. new.qk, new.pr, qmember(new.seq, id))
    redis.call('ZADD', P .. 'qt:' .. new.qk, new.qat, id)
    redis.call('SADD', P .. 'queues', new.qk)
    redis.call('PUBLISH', P .. 'ch:work', new.qk)
  end
  if new.st == EXECUTING then
    if new.lexp then
      redis.call('ZADD', P .. 'leases', new.lexp, id)
    end
  elseif old.st == EXECUTING then
    redis.call('ZREM', P .. 'leases', id)
  end
  if new.st == COMPLETED and old.st ~= COMPLETED then
    if new.dk ~= '' and redis.call('HGET', P .. 'inflight', new.dk) == id then
      redis.call('HDEL', P .. 'inflight', new.dk)
    end
    redis.call('ZADD', P .. 'done', new.done, id)
    -- Retention: the sweeper's DeleteCompleted normally comes first;
    -- the TTL cleans up when no scheduler runs.
    redis.call('PEXPIRE', P .. 'op:' .. id, new.ttl)
    redis.call('PEXPIRE', P .. 'out:' .. id .. ':1', new.ttl)
    redis.call('PEXPIRE', P .. 'out:' .. id .. ':2', new.ttl)
    redis.call('PUBLISH', P .. 'ch:out', id)
  end
  if old.st ~= new.st then
    -- Completed operations are counted by the done index instead, which
    -- also notices those that expired.
    if old.st and old.st ~= COMPLETED then
      redis.call('HINCRBY', P .. 'stages', old.st, -1)
    end
    if new.st ~= COMPLETED then
      redis.call('HINCRBY', P .. 'stages', new.st, 1)
    end
  end
  redis.call('PUBLISH', P .. 'ch:op', new.v .. ':' .. id)
end
