package httpapi

import (
	"os"
	"sync"
	"testing"

	"github.com/cloudwego/hertz/pkg/common/hlog"
	"github.com/cloudwego/kitex/pkg/klog"

	"github.com/goim-edge/goim-edge/control/logic/auth"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/control/logic/store/memory"
	redisstore "github.com/goim-edge/goim-edge/control/logic/store/redis"
	"github.com/goim-edge/goim-edge/internal/testenv"
)

func TestMain(m *testing.M) {
	hlog.SetLevel(hlog.LevelWarn) // server start/stop chatter
	klog.SetLevel(klog.LevelWarn)
	os.Exit(m.Run())
}

// eachStore runs fn against the memory store and the Redis store on a
// real redis-server.
func eachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("memory", func(t *testing.T) { fn(t, newMemoryStore(t)) })
	t.Run("redis", func(t *testing.T) { fn(t, newRedisStore(t)) })
}

func newMemoryStore(t testing.TB) store.Store {
	st := memory.New()
	t.Cleanup(func() { st.Close() })
	return st
}

func newRedisStore(t testing.TB) store.Store {
	cfg := redisstore.DefaultConfig()
	cfg.Addr = testenv.Redis(t).Addr
	st, err := redisstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var jsonAuth = sync.OnceValues(func() (auth.Authenticator, error) {
	return auth.New(auth.Config{Mode: auth.ModeJSON}) // warns once that it trusts clients
})

// newAuth is the real goim-compatible JSON token authenticator.
func newAuth(t testing.TB) auth.Authenticator {
	t.Helper()
	a, err := jsonAuth()
	if err != nil {
		t.Fatal(err)
	}
	return a
}
