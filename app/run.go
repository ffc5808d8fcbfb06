package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/goim-edge/goim-edge/app/obs"
	"github.com/goim-edge/goim-edge/app/version"
	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/edge"
	"github.com/goim-edge/goim-edge/tracing"
)

// node is a started role: stop shuts it down gracefully within ctx.
type node interface {
	stop(ctx context.Context) error
}

// runRole sets up logging, starts the role, and on ctx's end (SIGTERM or
// SIGINT) shuts it down within shutdown.timeout. A second signal while
// shutting down, or the timeout, ends the process with an error.
func runRole(ctx context.Context, role string, cfg *config.Config, logOut io.Writer) error {
	log, err := obs.NewLogger(logOut, obs.LogOptions{Level: cfg.Log.Level, Format: cfg.Log.Format, AddSource: cfg.Log.AddSource})
	if err != nil {
		return err
	}
	lvl, _ := obs.ParseLevel(cfg.Log.Level)
	obs.SetupLogging(log, lvl)
	obs.SetBuildInfo(version.Version, role)
	log = log.With("role", role)
	log.Info("starting", "version", version.Version, "node", cfg.Node.ID)
	if err := applyRuntime(cfg.Runtime, os.Getenv, log); err != nil {
		return fmt.Errorf("%s: %w", role, err)
	}
	// Before any connection exists (netpoll reads it then): every role
	// runs Kitex or Hertz on netpoll, and an edge holds many idle devices.
	if err := edge.TuneNetpoll(); err != nil {
		return fmt.Errorf("%s: %w", role, err)
	}
	stopTracing, err := tracing.Start(ctx, cfg.Trace, "goim-edge-"+role, version.Version)
	if err != nil {
		return fmt.Errorf("%s: %w", role, err)
	}
	if cfg.Trace.Enabled {
		log.Info("tracing on: OTLP/HTTP export per the OTEL_* environment", "sample_ratio", cfg.Trace.SampleRatio)
	}
	defer func() {
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(fctx); err != nil {
			log.Warn("tracing: flush at exit", "err", err)
		}
	}()

	var n node
	switch role {
	case config.RoleStandalone:
		n, err = startStandalone(ctx, cfg, log)
	case config.RoleEdge:
		n, err = startEdgeRole(ctx, cfg, log)
	case config.RoleLogic:
		n, err = startLogicRole(ctx, cfg, log)
	case config.RoleJob:
		n, err = startJobRole(ctx, cfg, log)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		log.Error("start failed", "err", err)
		return fmt.Errorf("%s: %w", role, err)
	}
	log.Info("ready")

	<-ctx.Done()
	log.Info("shutting down", "timeout", cfg.Shutdown.Timeout.String())
	start := time.Now()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Shutdown.Timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- n.stop(sctx) }()
	select {
	case err = <-done:
	case <-sctx.Done():
		// stop honours sctx; give it a moment to return before giving up.
		select {
		case err = <-done:
		case <-time.After(time.Second):
			err = errors.New("shutdown did not finish")
		}
	}
	if sctx.Err() != nil {
		err = errors.Join(err, fmt.Errorf("shutdown timed out after %v", cfg.Shutdown.Timeout))
	}
	if err != nil {
		log.Error("shutdown incomplete", "err", err, "took", time.Since(start).Round(time.Millisecond).String())
		return err
	}
	log.Info("stopped", "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// steps runs shutdown steps in order, logging each; a failed step does not
// stop the ones after it (every resource still gets closed).
type steps struct {
	log  *slog.Logger
	errs []error
}

func (s *steps) do(name string, fn func() error) {
	start := time.Now()
	if err := fn(); err != nil {
		s.log.Warn("shutdown step failed", "step", name, "err", err)
		s.errs = append(s.errs, fmt.Errorf("%s: %w", name, err))
		return
	}
	s.log.Debug("shutdown step done", "step", name, "took", time.Since(start).Round(time.Millisecond).String())
}

func (s *steps) err() error { return errors.Join(s.errs...) }

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
