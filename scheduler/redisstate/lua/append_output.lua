-- AppendOutput adds bytes to a live output stream of a running operation.
-- The buffer may grow to twice the limit before its head is cut, so that
-- trimming costs O(1) per byte; reads never see more than the limit.
-- ARGV: id, stream (1 stdout, 2 stderr), data, limit.
-- Returns 'ok' | 'notfound'.
local P, id, s = KEYS[1], ARGV[1], ARGV[2]
local opk = P .. 'op:' .. id
local st = redis.call('HGET', opk, 'st')
if not st then
  return 'notfound'
end
if st == COMPLETED or #ARGV[3] == 0 then
  return 'ok'
end
local bk = P .. 'out:' .. id .. ':' .. s
local limit = tonumber(ARGV[4])
local n = redis.call('APPEND', bk, ARGV[3])
if n > 2 * limit then
  redis.call('SET', bk, redis.call('GETRANGE', bk, n - limit, -1))
  redis.call('HINCRBY', opk, 'os' .. s, n - limit)
end
redis.call('PUBLISH', P .. 'ch:out', id)
return 'ok'
