package logic

import (
	"fmt"

	"github.com/cloudwego/kitex/server"

	logicsvc "github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
	pushsvc "github.com/goim-edge/goim-edge/kitex_gen/push/push"
)

// RegisterKitex serves both Kitex services of l (Logic for edges, Push
// for internal pushers) on svr; their method names do not overlap, so one
// server and port carry both.
func (l *Logic) RegisterKitex(svr server.Server) error {
	if err := logicsvc.RegisterService(svr, l); err != nil {
		return fmt.Errorf("logic: register Logic service: %w", err)
	}
	if err := pushsvc.RegisterService(svr, l); err != nil {
		return fmt.Errorf("logic: register Push service: %w", err)
	}
	return nil
}
