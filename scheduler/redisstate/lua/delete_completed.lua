-- DeleteCompleted forgets a batch of operations completed before a time,
-- with their output, and wakes their watchers.
-- ARGV: before µs (exclusive), batch size.
-- Returns {deleted, examined}.
local P = KEYS[1]
local ids = redis.call('ZRANGEBYSCORE', P .. 'done', '-inf', '(' .. ARGV[1], 'LIMIT', 0, ARGV[2])
local n = 0
for _, id in ipairs(ids) do
  local opk = P .. 'op:' .. id
  if redis.call('HGET', opk, 'st') == COMPLETED then
    redis.call('DEL', opk, P .. 'out:' .. id .. ':1', P .. 'out:' .. id .. ':2')
    redis.call('PUBLISH', P .. 'ch:op', 'd:' .. id) -- deleted: wakes everyone
    redis.call('PUBLISH', P .. 'ch:out', id)
    n = n + 1
  end
  redis.call('ZREM', P .. 'done', id)
end
return {n, #ids}
