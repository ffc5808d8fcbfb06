package etcdreg

import (
	"io"
	"log/slog"
	"testing"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// FuzzDecode: any key/value from etcd either decodes to an instance whose
// Key is exactly the etcd key, or is rejected; it never panics.
func FuzzDecode(f *testing.F) {
	f.Add("/test/goim.edge/sh/edge-1", `{"node":"edge-1","addrs":{"rpc":"127.0.0.1:3109"},"weight":10}`)
	f.Add("/test/goim.edge/sh/edge-1", `{"node":"other","env":"x","region":"y"}`)
	f.Add("/test/goim.edge/sh", `{}`)
	f.Add("/test/goim.edge/sh/a/b", `{}`)
	f.Add("/test/goim.edge/sh/edge-1", `{not json`)
	f.Add("/test/goim.edge/sh/edge-1", `null`)
	d := &Discovery{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f.Fuzz(func(t *testing.T, key, value string) {
		inst, ok := d.decode(&mvccpb.KeyValue{Key: []byte(key), Value: []byte(value)})
		if ok && inst.Key() != key {
			t.Fatalf("decoded %q as key %q", key, inst.Key())
		}
	})
}

func TestDecode(t *testing.T) {
	d := &Discovery{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cases := []struct {
		key, value string
		ok         bool
	}{
		{"/test/goim.edge/sh/edge-1", `{"node":"edge-1","weight":10}`, true},
		{"/test/goim.edge/sh/edge-1", `{"node":"liar","region":"bj"}`, true}, // key wins
		{"/test/goim.edge/sh/edge-1", `{not json`, false},
		{"/test/goim.edge/sh/edge-1", `[1,2]`, false},
		{"/test/goim.edge/sh/edge-1", `{"weight":-5}`, false},
		{"/test/goim.edge/sh", `{}`, false},
		{"/test/goim.edge/sh/a/b", `{}`, false},
		{"test/goim.edge/sh/edge-1", `{}`, false},
		{"/test//sh/edge-1", `{}`, false},
	}
	for _, c := range cases {
		inst, ok := d.decode(&mvccpb.KeyValue{Key: []byte(c.key), Value: []byte(c.value)})
		if ok != c.ok || (ok && inst.Key() != c.key) {
			t.Errorf("decode(%s, %s) = %+v, %v", c.key, c.value, inst, ok)
		}
	}
}
