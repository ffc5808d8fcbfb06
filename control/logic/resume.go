package logic

import (
	"context"
	"errors"

	logicrpc "github.com/goim-edge/goim-edge/kitex_gen/logic"
)

// errResumeNotBuilt: placeholder until recovery lands in logic.
var errResumeNotBuilt = errors.New("logic: resume is not built yet")

// Resume implements logic.Logic.
func (l *Logic) Resume(context.Context, *logicrpc.ResumeReq) (*logicrpc.ResumeResp, error) {
	return nil, errResumeNotBuilt
}

// Ack implements logic.Logic.
func (l *Logic) Ack(context.Context, *logicrpc.AckReq) (*logicrpc.AckResp, error) {
	return nil, errResumeNotBuilt
}
