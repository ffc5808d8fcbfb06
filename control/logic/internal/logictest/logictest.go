// Package logictest builds what the tests of logic and of its HTTP API run
// on: both store kinds (the Redis one on its own real redis-server), the
// goim-compatible JSON authenticator, and quiet framework logs. Only tests
// import it.
package logictest

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/cloudwego/hertz/pkg/common/hlog"
	"github.com/cloudwego/kitex/pkg/klog"
	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/logic/auth"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/control/logic/store/memory"
	"github.com/goim-edge/goim-edge/control/logic/store/redisstore"
	"github.com/goim-edge/goim-edge/internal/testenv"
)

// Main runs a package's tests with Hertz and Kitex logging at WARN (their
// server start/stop chatter hides failures) and exits with the result. A
// package's TestMain calls it.
func Main(m *testing.M) {
	hlog.SetLevel(hlog.LevelWarn)
	klog.SetLevel(klog.LevelWarn)
	os.Exit(m.Run())
}

// Opener returns a fresh, empty store that is closed when t ends.
type Opener func(t testing.TB) store.Store

// StoreKinds are the stores every service test runs against.
var StoreKinds = []struct {
	Name string
	Open Opener
}{
	{"memory", MemoryStore},
	{"redis", RedisStore},
}

// EachStore runs fn as a subtest against every store kind.
func EachStore(t *testing.T, fn func(t *testing.T, open Opener)) {
	t.Helper()
	for _, k := range StoreKinds {
		t.Run(k.Name, func(t *testing.T) { fn(t, k.Open) })
	}
}

// MemoryStore is the in-process store.
func MemoryStore(t testing.TB) store.Store {
	st := memory.New()
	t.Cleanup(func() { st.Close() })
	return st
}

// RedisStore is the Redis store on its own real redis-server.
func RedisStore(t testing.TB) store.Store {
	t.Helper()
	return RedisStoreAt(t, testenv.Redis(t).Addr)
}

// RedisStoreAt is the Redis store on the redis-server at addr, for tests
// that stop and restart that server themselves.
func RedisStoreAt(t testing.TB, addr string) store.Store {
	t.Helper()
	cfg := redisstore.DefaultConfig()
	cfg.Addr = addr
	st, err := redisstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var jsonAuth = sync.OnceValues(func() (auth.Authenticator, error) {
	return auth.New(auth.Config{Mode: auth.ModeJSON}, nil) // warns once that it trusts clients
})

// Auth is the real goim-compatible JSON token authenticator.
func Auth(t testing.TB) auth.Authenticator {
	t.Helper()
	a, err := jsonAuth()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// FlushAll empties the redis-server at addr, as an operator's FLUSHALL
// (or a restart without persistence) would.
func FlushAll(t testing.TB, addr string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	if err := c.FlushAll(context.Background()).Err(); err != nil {
		t.Fatalf("FLUSHALL %s: %v", addr, err)
	}
}
