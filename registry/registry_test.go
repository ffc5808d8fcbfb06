package registry_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/registry"
)

func TestInstanceKeyAndValidate(t *testing.T) {
	ok := registry.Instance{Env: "prod", Service: registry.ServiceEdge, Region: "sh", Node: "edge-1"}
	if got := ok.Key(); got != "/prod/goim.edge/sh/edge-1" {
		t.Fatalf("Key = %s", got)
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(*registry.Instance){
		"no env":          func(i *registry.Instance) { i.Env = "" },
		"no service":      func(i *registry.Instance) { i.Service = "" },
		"no region":       func(i *registry.Instance) { i.Region = "" },
		"no node":         func(i *registry.Instance) { i.Node = "" },
		"slash in node":   func(i *registry.Instance) { i.Node = "a/b" },
		"slash in region": func(i *registry.Instance) { i.Region = "sh/1" },
		"negative weight": func(i *registry.Instance) { i.Weight = -1 },
	}
	for name, mutate := range bad {
		i := ok
		mutate(&i)
		if err := i.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
	for _, c := range []struct{ weight, want int }{{0, registry.DefaultWeight}, {-3, registry.DefaultWeight}, {1, 1}, {50, 50}} {
		if got := (registry.Instance{Weight: c.weight}).EffectiveWeight(); got != c.want {
			t.Errorf("EffectiveWeight(%d) = %d, want %d", c.weight, got, c.want)
		}
	}
}

// TestInstanceJSON pins the value format documented in docs/registry.md.
func TestInstanceJSON(t *testing.T) {
	inst := registry.Instance{
		Env: "prod", Service: registry.ServiceEdge, Region: "sh", Zone: "sh001", Node: "edge-1",
		Domain: "edge-1.goim.io",
		Addrs:  registry.Addrs{RPC: "10.0.0.1:3109", TCP: "203.0.113.7:3101"},
		Weight: 10, Conns: 1234, IPs: 987,
		Started: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC),
	}
	const want = `{"env":"prod","service":"goim.edge","region":"sh","zone":"sh001","node":"edge-1","domain":"edge-1.goim.io","addrs":{"rpc":"10.0.0.1:3109","tcp":"203.0.113.7:3101"},"weight":10,"conn_count":1234,"ip_count":987,"draining":false,"start_time":"2026-11-25T09:00:00Z"}`
	b, err := json.Marshal(inst)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	var back registry.Instance
	if err := json.Unmarshal(b, &back); err != nil || back != inst {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}
