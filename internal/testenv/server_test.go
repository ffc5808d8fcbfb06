package testenv

import "testing"

func TestRedisAndEtcdStartStopStart(t *testing.T) {
	r := Redis(t)
	if err := redisPing(r.Addr); err != nil {
		t.Fatalf("redis not answering: %v", err)
	}
	e := Etcd(t)
	e.Kill()
	if err := etcdHealthy(e.Addr); err == nil {
		t.Fatal("etcd still answers after Kill")
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	if err := etcdHealthy(e.Addr); err != nil {
		t.Fatalf("etcd after restart: %v", err)
	}
}
