package httpapi

import (
	"testing"

	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
	"github.com/goim-edge/goim-edge/control/logic/store"
)

func TestMain(m *testing.M) { logictest.Main(m) }

// eachStore runs fn against every store kind (the Redis one on a real
// redis-server), each opened fresh for its subtest.
func eachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Helper()
	logictest.EachStore(t, func(t *testing.T, open logictest.Opener) { fn(t, open(t)) })
}
