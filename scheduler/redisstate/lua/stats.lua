-- Stats counts queued operations by queue and operations by stage.
-- Returns {{queue key, length, ...}, {stage, count, ...}, completed}.
local P = KEYS[1]
local queues = {}
for _, k in ipairs(redis.call('SMEMBERS', P .. 'queues')) do
  queues[#queues + 1] = k
  queues[#queues + 1] = redis.call('ZCARD', P .. 'q:' .. k)
end
return {queues, redis.call('HGETALL', P .. 'stages'), redis.call('ZCARD', P .. 'done')}
