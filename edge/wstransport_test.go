package edge

import (
	"testing"

	logicsvc "github.com/goim-edge/goim-edge/control/logic"
)

// wsTransports are the WebSocket transports every test of the ws port
// runs on.
var wsTransports = []string{WSTransportHertz, WSTransportNetpoll}

// forEachWS runs test once per WebSocket transport, as subtests named
// after them.
func forEachWS(t *testing.T, test func(t *testing.T, transport string)) {
	t.Helper()
	for _, tr := range wsTransports {
		t.Run(tr, func(t *testing.T) { test(t, tr) })
	}
}

// newClusterWS is newCluster with the ws port on transport.
func newClusterWS(t testing.TB, transport string, mod func(*Config), lmod func(*logicsvc.Config)) *cluster {
	t.Helper()
	return newCluster(t, func(c *Config) {
		c.WSTransport = transport
		if mod != nil {
			mod(c)
		}
	}, lmod)
}
