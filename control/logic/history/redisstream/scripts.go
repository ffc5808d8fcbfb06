package redisstream

import "github.com/redis/go-redis/v9"

// appendScript adds one message to one stream and returns {epoch, offset}.
// Offset assignment, storage, trimming and expiry are one script, so
// concurrent logic instances never assign the same offset. The list only
// ever grows at the tail and shrinks at the head, so it always holds the
// consecutive offsets last-LLEN+1 .. last: an offset's index is
// arithmetic.
//
// KEYS[1] list, KEYS[2] meta hash (e: epoch, o: last offset, t: ttl ms,
// s: size). ARGV: new epoch (used only when meta is missing: the history
// was lost or never existed), size, ttl ms, now ms, id, op, enqueued ns,
// body.
var appendScript = redis.NewScript(`
local ep = redis.call('HGET', KEYS[2], 'e')
if not ep then
  ep = ARGV[1]
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'e', ep, 'o', 0)
end
local off = redis.call('HINCRBY', KEYS[2], 'o', 1)
redis.call('HSET', KEYS[2], 't', ARGV[3], 's', ARGV[2])
redis.call('RPUSH', KEYS[1], string.format('%d|%s|%s|%s|%d|', off, ARGV[4], ARGV[6], ARGV[7], #ARGV[5]) .. ARGV[5] .. ARGV[8])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
local oldest = tonumber(ARGV[4]) - tonumber(ARGV[3])
while true do
  local e = redis.call('LINDEX', KEYS[1], 0)
  if not e or tonumber(string.match(e, '^%d+|(%d+)|')) >= oldest then break end
  redis.call('LPOP', KEYS[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {ep, off}
`)

// sinceScript reads a stream consistently: {epoch, last offset, entries,
// first kept offset}. The first kept offset is the oldest entry within the
// ttl (entries between appends age without being popped). When the
// caller's position can be recovered the entries are those after it (the
// oldest limit of them, or with tail "1" the newest limit), else the
// newest ones kept; history.ResultOf and TailOf draw the same conclusion
// from them in Go.
//
// KEYS[1] list, KEYS[2] meta. ARGV: now ms, epoch, offset, limit, tail.
var sinceScript = redis.NewScript(`
local m = redis.call('HMGET', KEYS[2], 'e', 'o', 't')
if not m[1] then return {'', '0', {}, '1'} end
local ep, last, ttl = m[1], tonumber(m[2]), tonumber(m[3])
local oldest = tonumber(ARGV[1]) - ttl
local want, offset, limit = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local len = redis.call('LLEN', KEYS[1])
local idx = 0
while idx < len do
  local chunk = redis.call('LRANGE', KEYS[1], idx, idx + 63)
  if #chunk == 0 then break end
  local live = false
  for _, e in ipairs(chunk) do
    if tonumber(string.match(e, '^%d+|(%d+)|')) >= oldest then live = true; break end
    idx = idx + 1
  end
  if live then break end
end
local base = last - len + 1
local first = base + idx
local out
if (want == '' or want == ep) and offset <= last and first <= offset + 1 then
  local from = offset + 1 - base
  if ARGV[5] == '1' then from = math.max(from, len - limit) end
  out = redis.call('LRANGE', KEYS[1], from, from + limit - 1)
else
  out = redis.call('LRANGE', KEYS[1], math.max(idx, len - limit), -1)
end
return {ep, string.format('%d', last), out, string.format('%d', first)}
`)

// ackScript moves a stream's acknowledged position, kept as field a of
// the meta hash: so it shares the stream's slot and expiry by
// construction and is dropped with the epoch (a new epoch starts with a
// new hash). It answers advanced, stale, other_epoch or beyond
// (history.AckResult). HSET leaves the hash's expiry as it is: an ack
// does not keep a stream alive.
//
// KEYS[1] meta. ARGV: epoch, offset.
var ackScript = redis.NewScript(`
local m = redis.call('HMGET', KEYS[1], 'e', 'o', 'a')
if not m[1] or m[1] ~= ARGV[1] then return 'other_epoch' end
local off = tonumber(ARGV[2])
if off > tonumber(m[2]) then return 'beyond' end
if m[3] and off <= tonumber(m[3]) then return 'stale' end
redis.call('HSET', KEYS[1], 'a', ARGV[2])
return 'advanced'
`)
