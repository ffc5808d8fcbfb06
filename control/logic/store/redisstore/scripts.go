package redisstore

import "github.com/redis/go-redis/v9"

// writeRoute is the Lua that writes a route and its mid index entry
// (KEYS: route, mid hash; ARGV: value, key, server, ttl ms); AddRoute
// runs it as is, Restore behind its guard.
const writeRoute = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[4]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return 1`

// Route changes are Lua scripts so that check-and-change is atomic: a late
// Disconnect from an old edge must never erase a route a newer connection
// just wrote (goim's bug).
var (
	// KEYS: route, mid hash. ARGV: value, key, server, ttl ms.
	addRouteScript = redis.NewScript(writeRoute)

	// KEYS: route, mid hash. ARGV: value, key, server, ttl ms.
	// Renews only a route that still holds exactly this mid and server.
	renewRouteScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[4]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return 1`)

	// KEYS: route, mid hash. ARGV: server, key.
	// Deletes only a route that still points at this server.
	delRouteScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local bar = string.find(v, '|', 1, true)
if not bar or string.sub(v, bar + 1) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return 1`)

	// KEYS: route, mid hash. ARGV: value, key, server.
	// Drops a mid index field unless its route came back meanwhile.
	pruneIndexScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
if redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[3] then return 0 end
return redis.call('HDEL', KEYS[2], ARGV[2])`)

	// KEYS: route, mid hash. ARGV: value, key, server, ttl ms.
	// Writes a route an edge restores after the store lost it, unless the
	// key has a route to another server (a newer connection elsewhere).
	restoreRouteScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then
  local bar = string.find(v, '|', 1, true)
  if not bar or string.sub(v, bar + 1) ~= ARGV[3] then return 0 end
end
` + writeRoute)

	// KEYS: epoch. ARGV: a fresh epoch.
	// Returns the store's epoch, creating it (no expiry) when missing: a
	// Redis that lost its data comes back with a new one.
	epochScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]`)

	// KEYS: edges zset, online hash. ARGV: server.
	// Drops an edge from the index once its report has expired, unless it
	// reported again in the meantime.
	dropEdgeScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])`)
)
