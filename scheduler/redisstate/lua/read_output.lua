-- ReadOutput reads up to a limit of bytes of a stream from an offset, or
-- from the oldest byte kept if that is later.
-- ARGV: id, stream, offset, read limit, kept limit.
-- Returns {'ok', data, offset, closed (1/0)} | {'notfound'}.
local P, id, s = KEYS[1], ARGV[1], ARGV[2]
local cur = redis.call('HMGET', P .. 'op:' .. id, 'st', 'os' .. s)
if not cur[1] then
  return {'notfound'}
end
local closed = 0
if cur[1] == COMPLETED then
  closed = 1
end
local bk = P .. 'out:' .. id .. ':' .. s
local start = tonumber(cur[2] or '0')
local len = redis.call('STRLEN', bk)
local oldest = start + math.max(0, len - tonumber(ARGV[5]))
local off = math.min(math.max(tonumber(ARGV[3]), oldest), start + len)
local want = tonumber(ARGV[4])
local data = ''
if want > 0 and off < start + len then
  data = redis.call('GETRANGE', bk, off - start, off - start + want - 1)
end
return {'ok', data, off, closed}
