package logic

import (
	"testing"

	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
)

func TestMain(m *testing.M) { logictest.Main(m) }
