package app

import (
	"io"
	"log/slog"
	"testing"

	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/registry"
)

func TestAdvertise(t *testing.T) {
	tests := []struct {
		name, host, bound, want string
	}{
		{"explicit host kept", "", "10.1.2.3:3109", "10.1.2.3:3109"},
		{"advertise host wins", "edge-1.internal", "0.0.0.0:3109", "edge-1.internal:3109"},
		{"advertise host over named host", "10.9.9.9", "127.0.0.1:3109", "10.9.9.9:3109"},
		{"empty stays empty", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			c.Node.AdvertiseHost = tt.host
			if got := advertise(c, tt.bound); got != tt.want {
				t.Fatalf("advertise(%q) = %q, want %q", tt.bound, got, tt.want)
			}
		})
	}
	c := config.Default()
	if got := advertise(c, "[::]:3109"); got == "[::]:3109" || got == ":3109" {
		t.Fatalf("unspecified host advertised as is: %q", got)
	}
}

func TestHTTPListenAddrKeepsOpenAPIOnLoopback(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name, addr, key string
		open            bool
		want            string
	}{
		{"no key binds loopback", ":3111", "", false, "127.0.0.1:3111"},
		{"no key, all interfaces", "0.0.0.0:3111", "", false, "127.0.0.1:3111"},
		{"loopback kept", "127.0.0.1:3111", "", false, "127.0.0.1:3111"},
		{"api key allows any address", ":3111", "secret", false, ":3111"},
		{"open_api allows any address", ":3111", "", true, ":3111"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			c.Logic.HTTPAddr, c.Logic.HTTP.APIKey, c.Logic.OpenAPI = tt.addr, tt.key, tt.open
			if got := httpListenAddr(c, log); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStaticRegistryFromConfig(t *testing.T) {
	c := config.Default()
	c.Registry.Static.Logic = []string{"10.0.0.1:3119"}
	c.Registry.Static.Edges = []config.StaticEdge{{ID: "edge-1", RPC: "10.0.0.2:3109", TCP: "10.0.0.2:3101"}}
	rk, err := openRegistry(c, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer rk.close()
	logics := rk.disc.Instances(registry.ServiceLogic)
	edges := rk.disc.Instances(registry.ServiceEdge)
	if len(logics) != 1 || logics[0].Addrs.RPC != "10.0.0.1:3119" {
		t.Fatalf("logic instances %+v", logics)
	}
	if len(edges) != 1 || edges[0].Node != "edge-1" || edges[0].Addrs.TCP != "10.0.0.2:3101" {
		t.Fatalf("edge instances %+v", edges)
	}
}
