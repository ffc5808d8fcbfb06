package logic

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
	"github.com/goim-edge/goim-edge/kitex_gen/logic"
)

func TestReceiveWebhook(t *testing.T) {
	type call struct {
		header http.Header
		body   []byte
	}
	calls := make(chan call, 4)
	status := http.StatusNoContent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		calls <- call{r.Header.Clone(), b}
		w.WriteHeader(status)
	}))
	defer srv.Close()

	h := newHarness(t, logictest.MemoryStore(t), func(c *Config) {
		c.Receive = ReceiveConfig{URL: srv.URL + "/up", Token: "s3cret", Timeout: 2 * time.Second, Parallel: 4}
	})
	body := []byte{0, 1, 2, 'h', 'i'}
	if _, err := h.l.Receive(context.Background(), &logic.ReceiveReq{Mid: 42, Key: "k", Op: 4, Body: body, Server: "edge-a"}); err != nil {
		t.Fatal(err)
	}
	c := <-calls
	if !bytes.Equal(c.body, body) {
		t.Fatalf("webhook body = %x, want %x", c.body, body)
	}
	for name, want := range map[string]string{
		HeaderMid: "42", HeaderKey: "k", HeaderOp: "4", HeaderServer: "edge-a",
		"Authorization": "Bearer s3cret", "Content-Type": "application/octet-stream",
	} {
		if got := c.header.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}

	status = http.StatusBadGateway
	_, err := h.l.Receive(context.Background(), &logic.ReceiveReq{Mid: 42, Key: "k", Op: 4, Body: body, Server: "edge-a"})
	<-calls
	if err == nil || !strings.Contains(err.Error(), "status 502") {
		t.Fatalf("webhook 502: err = %v", err)
	}
}

func TestReceiveWebhookDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	h := newHarness(t, logictest.MemoryStore(t), func(c *Config) {
		c.Receive = ReceiveConfig{URL: url, Timeout: time.Second, Parallel: 4}
	})
	if _, err := h.l.Receive(context.Background(), &logic.ReceiveReq{Mid: 1, Body: []byte("x")}); err == nil {
		t.Fatal("receive with the webhook down succeeded")
	}
}

func TestReceiveWithoutHookLogs(t *testing.T) {
	h := newHarness(t, logictest.MemoryStore(t), nil)
	if _, err := h.l.Receive(context.Background(), &logic.ReceiveReq{Mid: 1, Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
}

func TestNewReceiverRefusesBadURL(t *testing.T) {
	for _, u := range []string{"ftp://x", "not a url", "http://", "://"} {
		if _, err := NewReceiver(ReceiveConfig{URL: u, Timeout: time.Second}, nil); err == nil {
			t.Errorf("NewReceiver(%q) accepted it", u)
		}
	}
}

// TestReceiveBoundsConcurrency: with receive.parallel messages in the
// webhook, one more is refused at once with ErrBusy (counted), and is
// taken again once a slot frees.
func TestReceiveBoundsConcurrency(t *testing.T) {
	entered := make(chan struct{}, 8)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	h := newHarness(t, logictest.MemoryStore(t), func(c *Config) {
		c.Receive = ReceiveConfig{URL: srv.URL, Timeout: 30 * time.Second, Parallel: 2}
	})
	req := &logic.ReceiveReq{Mid: 1, Key: "k", Op: 4, Body: []byte("x"), Server: "edge-a"}
	errs := make(chan error, 2)
	for range 2 {
		go func() { _, err := h.l.Receive(context.Background(), req); errs <- err }()
	}
	<-entered
	<-entered // both slots are in the webhook
	busy0 := value(t, receivesTotal.WithLabelValues("busy"))
	_, err := h.l.Receive(context.Background(), req)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("third concurrent receive: err = %v, want ErrBusy", err)
	}
	if Code(err) != CodeServer {
		t.Fatalf("ErrBusy code %d, want %d", Code(err), CodeServer)
	}
	if got := value(t, receivesTotal.WithLabelValues("busy")) - busy0; got != 1 {
		t.Fatalf("busy receives counted %v, want 1", got)
	}
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("receive in a slot: %v", err)
		}
	}
	if _, err := h.l.Receive(context.Background(), req); err != nil {
		t.Fatalf("receive after slots freed: %v", err)
	}
}
