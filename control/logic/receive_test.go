package logic

import (
	"bytes"
	"context"
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
		c.Receive = ReceiveConfig{URL: srv.URL + "/up", Token: "s3cret", Timeout: 2 * time.Second}
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
		c.Receive = ReceiveConfig{URL: url, Timeout: time.Second}
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
