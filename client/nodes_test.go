package client

import (
	"encoding/json"
	"fmt"
	"testing"
)

// The node list becomes addresses for the client's transport; a port of
// 0 (logic's way of saying no edge serves that transport) gives none, so
// the client falls back to Options.Addrs instead of dialling port 0.
func TestNodeAddrs(t *testing.T) {
	var r nodesReply
	if err := json.Unmarshal([]byte(`{"code":0,"message":"","data":{"tcp_port":3101,"ws_port":3102,"wss_port":0,"nodes":["10.0.0.1","edge.example"]}}`), &r); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		transport Transport
		want      string
	}{
		{TCP, "[10.0.0.1:3101 edge.example:3101]"},
		{WS, "[ws://10.0.0.1:3102/sub ws://edge.example:3102/sub]"},
		{WSS, "[]"},
	} {
		o := &Options{Transport: tt.transport, WSPath: "/sub"}
		if got := fmt.Sprint(nodeAddrs(r, o)); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.transport, got, tt.want)
		}
	}
}
