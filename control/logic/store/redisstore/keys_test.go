package redisstore

import "testing"

func FuzzRouteValue(f *testing.F) {
	f.Add(int64(42), "edge-a")
	f.Add(int64(-1), "edge|with|bars")
	f.Add(int64(0), "")
	f.Fuzz(func(t *testing.T, mid int64, server string) {
		gotMid, gotServer, ok := parseRouteValue(routeValue(mid, server))
		if !ok || gotMid != mid || gotServer != server {
			t.Fatalf("round trip of (%d, %q) = (%d, %q, %v)", mid, server, gotMid, gotServer, ok)
		}
	})
}

func TestParseRouteValueRefusesForeign(t *testing.T) {
	for _, v := range []string{"", "edge-a", "x|edge", "1.5|edge", "99999999999999999999|e"} {
		if _, _, ok := parseRouteValue(v); ok {
			t.Errorf("parseRouteValue(%q) accepted", v)
		}
	}
}
