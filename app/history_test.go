package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/control/logic/history"
	"github.com/goim-edge/goim-edge/internal/testenv"
)

// TestHistoryWiring: with logic.history on, standalone keeps streams in
// memory and the logic role in the route store's Redis; a push answers
// its position and the history route reads it back.
func TestHistoryWiring(t *testing.T) {
	redis := testenv.Redis(t)
	on := func(c *config.Config) {
		c.Logic.History.Rooms = []history.RoomLimits{{Type: "live", Size: 10, TTL: time.Hour}}
		for _, set := range []func(*config.Config, string){setLogicHTTP, setLogicRPC, setEdgeTCP, setEdgeWS, setEdgeRPC} {
			set(c, freeAddr(t))
		}
	}
	roles := map[string]func(c *config.Config) (node, error){
		"standalone": func(c *config.Config) (node, error) {
			return startStandalone(context.Background(), c, discardLog())
		},
		"logic": func(c *config.Config) (node, error) {
			c.Store.Kind, c.Store.Redis.Addr = "redis", redis.Addr
			c.Queue.Kind, c.Queue.Redis.Addr = "redis", redis.Addr
			return startLogicRole(context.Background(), c, discardLog())
		},
	}
	for name, start := range roles {
		t.Run(name, func(t *testing.T) {
			c := testConfig()
			on(c)
			n, err := startWithin(t, func() (node, error) { return start(c) })
			if err != nil {
				t.Fatal(err)
			}
			defer stopNode(t, n)
			base := "http://" + c.Logic.HTTPAddr
			waitServed(t, c.Logic.HTTPAddr)
			resp, err := http.Post(base+"/goim/push/room?operation=1000&type=live&room="+name+"&positions=1", "text/plain", strings.NewReader("hello"))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var pushed struct {
				Data struct{ Positions []history.Pos }
			}
			if err := json.Unmarshal(b, &pushed); err != nil || len(pushed.Data.Positions) != 1 || pushed.Data.Positions[0].Offset != 1 {
				t.Fatalf("push answer %s (%v), want one position at offset 1", b, err)
			}
			resp, err = http.Get(base + "/goim/history?stream=room:live://" + name)
			if err != nil {
				t.Fatal(err)
			}
			b, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			var got struct {
				Data struct {
					Messages []struct {
						Offset int64
						Body   []byte
					}
					Recovered bool
					Position  history.Pos
				}
			}
			if err := json.Unmarshal(b, &got); err != nil || !got.Data.Recovered || len(got.Data.Messages) != 1 ||
				string(got.Data.Messages[0].Body) != "hello" || got.Data.Position != pushed.Data.Positions[0] {
				t.Fatalf("history %s (%v)", b, err)
			}
		})
	}
}
