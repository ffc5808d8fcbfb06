// Package serving waits for a server started in the background to really
// serve. Kitex bootstraps its transport in a goroutine of Run, and a stop
// that comes before that races with it (the race detector sees it inside
// Kitex), so the roles count a Kitex server as started once it answers a
// call.
package serving

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/cloudwego/kitex/client"
)

// ReadyTimeout bounds how long Wait waits.
const ReadyTimeout = 5 * time.Second

// Wait calls probe until it succeeds, done closes (the server's Run
// returned), or ReadyTimeout passes. what names the server in errors
// ("edge: rpc server on ADDR").
func Wait(what string, done <-chan struct{}, probe func(context.Context) error) error {
	deadline := time.Now().Add(ReadyTimeout)
	for {
		err := probe(context.Background())
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("%s ended while starting", what)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within %v: %w", what, ReadyTimeout, err)
		}
	}
}

// CloseClient closes a Kitex client built with client.NewClient and
// releases its pooled connections. It takes that generic client on
// purpose: the generated clients (kitex_gen/.../NewClient) keep theirs
// in an unexported field and cannot be closed at all, so code that must
// close a client builds the generic one and calls the generated
// Args/Result types through it (see KitexProbe, control/job/rpc.go).
func CloseClient(c client.Client) error {
	if cl, ok := c.(io.Closer); ok {
		return cl.Close()
	}
	return fmt.Errorf("serving: kitex client %T cannot be closed", c)
}
