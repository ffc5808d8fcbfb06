package serving

import (
	"context"
	"fmt"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/serviceinfo"
	"github.com/cloudwego/kitex/server"
)

// Kitex runs a Kitex server in the background and stops it. Kitex
// bootstraps its transport in a goroutine of Run: a Stop called before
// that is missed and Run serves on forever, so the server is stopped
// through its exit signal instead (Run stops the server whichever point
// of its start it has reached), and Run is counted as started once the
// server answers a call.
type Kitex struct {
	exit chan error
	done chan struct{}
	addr string
}

// NewKitex prepares the lifecycle of one server on addr; build the server
// with ExitOption.
func NewKitex(addr string) *Kitex {
	return &Kitex{exit: make(chan error), done: make(chan struct{}), addr: addr}
}

// ExitOption is the option the server must be built with: the process,
// not Kitex, owns signals, and Stop is what ends Run.
func (k *Kitex) ExitOption() server.Option {
	return server.WithExitSignal(func() <-chan error { return k.exit })
}

// Run serves svr in the background and returns once probe succeeds (see
// Wait); what names the server in errors. onErr gets Run's error.
func (k *Kitex) Run(svr server.Server, what string, probe func(context.Context) error, onErr func(error)) error {
	go func() {
		defer close(k.done)
		if err := svr.Run(); err != nil && onErr != nil {
			onErr(err)
		}
	}()
	return Wait(what+" on "+k.addr, k.done, probe)
}

// Stop ends Run and waits for it within ctx. Run's own error is not a
// failed stop: a stop right after the start may see netpoll report its
// listener's close as an error; Run has logged it through onErr.
func (k *Kitex) Stop(ctx context.Context) error {
	select {
	case <-k.exit:
	default:
		close(k.exit)
	}
	select {
	case <-k.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop kitex server on %s: %w", k.addr, ctx.Err())
	}
}

// Abandon makes a server that was built but never Run stop as soon as
// it is: Run returns at once.
func (k *Kitex) Abandon() {
	select {
	case <-k.exit:
	default:
		close(k.exit)
	}
}

// KitexProbe is a readiness probe of service svc (registered as dest):
// one call of method with args and result (the generated Args/Result
// types of a read-only method), through a generic client that close
// releases. opts say where and how (host, secret, timeout).
func KitexProbe(svc *serviceinfo.ServiceInfo, dest, method string, args, result func() any, opts ...client.Option) (probe func(context.Context) error, close func() error, err error) {
	c, err := client.NewClient(svc, append([]client.Option{client.WithDestService(dest)}, opts...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("serving: probe client: %w", err)
	}
	probe = func(ctx context.Context) error { return c.Call(ctx, method, args(), result()) }
	return probe, func() error { return CloseClient(c) }, nil
}
