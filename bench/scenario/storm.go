package scenario

import (
	"context"
	"fmt"
)

// storm connects every device as fast as the workers' concurrency allows
// and reports connections authenticated per second.
func (s *session) storm(ctx context.Context) error {
	s.sampleCPU(true)
	s.meterStart(ctx, "connect storm")
	err := s.connect(ctx)
	s.sampleCPU(false)
	s.meterEnd(ctx)
	if s.group() != nil {
		defer s.teardown()
	}
	if err != nil {
		return err
	}
	if srv := s.res.Server; srv != nil && srv.CPUSeconds > 0 {
		s.res.Notes = append(s.res.Notes, fmt.Sprintf("Server CPU over the storm: %.2f s, %.0f connections per CPU-second.",
			srv.CPUSeconds, float64(s.res.Connections.Up)/srv.CPUSeconds))
	}
	return s.finish(ctx)
}
