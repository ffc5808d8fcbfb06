package redisstore

import (
	"strconv"
	"strings"

	"github.com/goim-edge/goim-edge/redisconn"
)

// Key layout (prefix "goim:" by default):
//
//	{p}k:{key}     string "{mid}|{server}", PX ttl — the authoritative route
//	{p}m:{mid}     hash key → server, PX ≥ the longest route ttl — an index
//	               that may hold stale fields; readers confirm with {p}k:
//	{p}o:{server}  hash of one edge's report: "r:{room}" → count,
//	               "n:conns", "n:ips"; PX online ttl
//	{p}o:edges     zset server → expiry (unix ms) — the index of reports;
//	               members whose hash expired are removed by readers
//	{p}epoch       string, no expiry — the store's generation, created at
//	               random when missing, so it changes when Redis loses
//	               its data (see store.Store.Epoch)
//
// Redis 7.0 has no per-field hash expiry, hence the key string being the
// authority and the mid hash only an index.
//
// Redis Cluster: the route scripts change a key's route and its mid's
// index atomically, and a device key and its mid hash to unrelated slots,
// so in cluster mode every store key carries the hash tag {{p}} after the
// prefix ("goim:{goim:}k:abc"): the whole store is one slot, on one
// shard (and its replicas). History streams and the queue, the bulk of
// the data and traffic, spread over the cluster; see docs/redis.md.
type keys struct{ prefix string }

// newKeys lays keys out for cfg's topology; single and sentinel keep the
// historical untagged names so an upgrade finds its data.
func newKeys(cfg Config) keys {
	if cfg.Mode() == redisconn.Cluster {
		return keys{prefix: cfg.Prefix + "{" + cfg.Prefix + "}"}
	}
	return keys{prefix: cfg.Prefix}
}

func (k keys) route(key string) string { return k.prefix + "k:" + key }
func (k keys) mid(mid int64) string    { return k.prefix + "m:" + strconv.FormatInt(mid, 10) }
func (k keys) online(server string) string {
	return k.prefix + "o:" + server
}
func (k keys) edges() string { return k.prefix + "o:edges" }
func (k keys) epoch() string { return k.prefix + "epoch" }

// Fields of an online hash.
const (
	roomField  = "r:"
	connsField = "n:conns"
	ipsField   = "n:ips"
)

// routeValue is what {p}k:{key} holds.
func routeValue(mid int64, server string) string {
	return strconv.FormatInt(mid, 10) + "|" + server
}

// parseRouteValue splits a route value; ok is false for a value this store
// did not write.
func parseRouteValue(v string) (mid int64, server string, ok bool) {
	m, s, found := strings.Cut(v, "|")
	if !found {
		return 0, "", false
	}
	mid, err := strconv.ParseInt(m, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return mid, s, true
}
