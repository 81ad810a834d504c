-- LiveWorkers lists workers seen at or after a time. ARGV: since µs.
-- Returns {id, record, seen µs, ...}.
local P = KEYS[1]
local ids = redis.call('ZRANGEBYSCORE', P .. 'workers', ARGV[1], '+inf', 'WITHSCORES')
local out = {}
for i = 1, #ids, 2 do
  local rec = redis.call('GET', P .. 'w:' .. ids[i])
  if rec then
    out[#out + 1] = ids[i]
    out[#out + 1] = rec
    out[#out + 1] = ids[i + 1]
  end
end
return out
