package logic

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

func newMemoryStore(t testing.TB) store.Store {
	st := memory.New()
	t.Cleanup(func() { st.Close() })
	return st
}

// newRedisStore is the Redis store on its own real redis-server.
func newRedisStore(t testing.TB) store.Store {
	return redisStoreAt(t, testenv.Redis(t).Addr)
}

func redisStoreAt(t testing.TB, addr string) store.Store {
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
