package testenv

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

func TestRedisAndEtcdStartStopStart(t *testing.T) {
	r := Redis(t)
	if err := redisPing(r.Addr); err != nil {
		t.Fatalf("redis not answering: %v", err)
	}
	e := Etcd(t)
	e.Kill()
	if err := etcdHealthy("http", e.Addr, nil); err == nil {
		t.Fatal("etcd still answers after Kill")
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	if err := etcdHealthy("http", e.Addr, nil); err != nil {
		t.Fatalf("etcd after restart: %v", err)
	}
}

// TestProgramSignal starts etcd as a plain Program (its /health is the
// readiness URL), stops it with SIGSTOP and resumes it with SIGCONT.
func TestProgramSignal(t *testing.T) {
	client, peer := FreePort(t), FreePort(t)
	dir := t.TempDir()
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", client)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	s, err := Program(t, ProgramSpec{
		Name: "etcd", Bin: lookBinary(t, "etcd"),
		Args: []string{"--name", "p", "--data-dir", dir + "/data",
			"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
			"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
			"--initial-cluster", "p=" + peerURL, "--log-level", "error"},
		ReadyURL: clientURL + "/health",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := httpOK(s.Addr); err == nil {
		t.Fatal("etcd answers while stopped")
	}
	if !s.Running() {
		t.Fatal("a stopped process is still running")
	}
	if err := s.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for httpOK(s.Addr) != nil {
		if time.Now().After(deadline) {
			t.Fatal("etcd does not answer after SIGCONT")
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Kill()
	if s.Running() {
		t.Fatal("running after Kill")
	}
}
