-- ForgetWorkers drops workers last seen before a time. ARGV: before µs
-- (exclusive). Returns how many it dropped.
local P = KEYS[1]
local ids = redis.call('ZRANGEBYSCORE', P .. 'workers', '-inf', '(' .. ARGV[1])
for _, id in ipairs(ids) do
  redis.call('DEL', P .. 'w:' .. id)
end
redis.call('ZREMRANGEBYSCORE', P .. 'workers', '-inf', '(' .. ARGV[1])
return #ids
