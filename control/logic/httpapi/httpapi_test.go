package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/kitex_gen/logic"
	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/registry/static"
)

const ok = `{"code":0,"message":""}`

func bad(msg string) string {
	return fmt.Sprintf(`{"code":-400,"message":"invalid request: %s"}`, msg)
}

// reserved is the message refusing a protocol op.
func reserved(op int) string {
	return fmt.Sprintf("operation %d is reserved by the protocol (0-17 and 22-30 cannot be pushed; business ops are 1000 and up)", op)
}

func TestOKEnvelopeIs23Bytes(t *testing.T) {
	if len(okEnvelope) != 23 || string(okEnvelope) != ok {
		t.Fatalf("ok envelope %q is %d bytes", okEnvelope, len(okEnvelope))
	}
}

// summary is what the test checks of one queued message.
type summary struct {
	Kind   common.PushKind
	Op     int32
	Server string
	Keys   string
	Room   string
	Speed  int32
	Body   string
}

func summarize(msgs []*common.PushMsg) []summary {
	out := []summary{}
	for _, m := range msgs {
		out = append(out, summary{m.Kind, m.Op, m.Server, strings.Join(m.Keys, ","), m.Room, m.Speed, string(m.Body)})
	}
	// A push to several edges publishes in parallel: order by edge.
	sort.Slice(out, func(i, j int) bool { return out[i].Server < out[j].Server })
	return out
}

func keysMsg(op int32, server, keys, body string) summary {
	return summary{Kind: common.PushKind_KEYS, Op: op, Server: server, Keys: keys, Body: body}
}

func TestPushRoutes(t *testing.T) {
	eachStore(t, testPushRoutes)
}

func testPushRoutes(t *testing.T, st store.Store) {
	a := newAPIOn(t, st, DefaultConfig(), nil, limits(16, 3))
	a.route(t, 1, "k1", "edge-a")
	a.route(t, 1, "k2", "edge-b")
	a.route(t, 2, "k3", "edge-a")

	cases := []struct {
		name   string
		path   string
		body   string
		ctype  string
		status int
		resp   string
		msgs   []summary
	}{
		// keys
		{"keys repeated", "/goim/push/keys?operation=1000&keys=k1&keys=k2", "hello", "", 200, ok,
			[]summary{keysMsg(1000, "edge-a", "k1", "hello"), keysMsg(1000, "edge-b", "k2", "hello")}},
		{"keys comma list", "/goim/push/keys?operation=1000&keys=k1,k3", "hi", "", 200, ok,
			[]summary{keysMsg(1000, "edge-a", "k1,k3", "hi")}},
		{"keys both forms", "/goim/push/keys?operation=1007&keys=k1,k2&keys=k3", "x", "", 200, ok,
			[]summary{keysMsg(1007, "edge-a", "k1,k3", "x"), keysMsg(1007, "edge-b", "k2", "x")}},
		{"keys fork op 18", "/goim/push/keys?operation=18&keys=k1", "x", "", 200, ok,
			[]summary{keysMsg(18, "edge-a", "k1", "x")}},
		{"keys op 26 reserved (recovery)", "/goim/push/keys?operation=26&keys=k1", "x", "", 400, bad(reserved(26)), nil},
		{"keys op 30 reserved (recovery)", "/goim/push/keys?operation=30&keys=k1", "x", "", 400, bad(reserved(30)), nil},
		{"keys op 31", "/goim/push/keys?operation=31&keys=k1", "x", "", 200, ok,
			[]summary{keysMsg(31, "edge-a", "k1", "x")}},
		{"keys at the target cap", "/goim/push/keys?operation=1000&keys=k1,ghost1,ghost2", "x", "", 200, ok,
			[]summary{keysMsg(1000, "edge-a", "k1", "x")}},
		{"keys over the target cap", "/goim/push/keys?operation=1000&keys=k1,k2,k3&keys=k4", "x", "", 400, bad("4 keys is over the limit of 3 per push"), nil},
		{"keys too long", "/goim/push/keys?operation=1000&keys=" + strings.Repeat("k", 257), "x", "", 400, bad(`key \"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\"… is longer than 256 bytes`), nil},
		{"keys op 0 reserved", "/goim/push/keys?operation=0&keys=k1", "x", "", 400, bad(reserved(0)), nil},
		{"keys op 8 reserved", "/goim/push/keys?operation=8&keys=k1", "x", "", 400, bad(reserved(8)), nil},
		{"keys op 9 raw", "/goim/push/keys?operation=9&keys=k1", "x", "", 400, bad(reserved(9)), nil},
		{"keys op 17 reserved", "/goim/push/keys?operation=17&keys=k1", "x", "", 400, bad(reserved(17)), nil},
		{"keys op 23 reserved", "/goim/push/keys?operation=23&keys=k1", "x", "", 400, bad(reserved(23)), nil},
		{"keys op 9 to unknown keys", "/goim/push/keys?operation=9&keys=ghost", "x", "", 400, bad(reserved(9)), nil},
		{"keys unknown", "/goim/push/keys?operation=1000&keys=ghost", "x", "", 200, ok, nil},
		{"keys json body", "/goim/push/keys?operation=1000&keys=k2", `{"a":1}`, "application/json", 200, ok,
			[]summary{keysMsg(1000, "edge-b", "k2", `{"a":1}`)}},
		{"keys form body stays raw", "/goim/push/keys?operation=1000&keys=k2", "a=b&c=d", "application/x-www-form-urlencoded", 200, ok,
			[]summary{keysMsg(1000, "edge-b", "k2", "a=b&c=d")}},
		{"keys multipart body stays raw", "/goim/push/keys?operation=1000&keys=k2", "--b\r\n\r\nx\r\n--b--", "multipart/form-data; boundary=b", 200, ok,
			[]summary{keysMsg(1000, "edge-b", "k2", "--b\r\n\r\nx\r\n--b--")}},
		{"keys body at limit", "/goim/push/keys?operation=1001&keys=k2", strings.Repeat("b", 16), "", 200, ok,
			[]summary{keysMsg(1001, "edge-b", "k2", strings.Repeat("b", 16))}},
		{"keys no operation", "/goim/push/keys?keys=k1", "x", "", 400, bad("operation is required"), nil},
		{"keys blank operation", "/goim/push/keys?operation=&keys=k1", "x", "", 400, bad("operation is required"), nil},
		{"keys text operation", "/goim/push/keys?operation=abc&keys=k1", "x", "", 400, bad(`operation \"abc\" is not a 32-bit integer`), nil},
		{"keys huge operation", "/goim/push/keys?operation=99999999999&keys=k1", "x", "", 400, bad(`operation \"99999999999\" is not a 32-bit integer`), nil},
		{"keys missing", "/goim/push/keys?operation=1000", "x", "", 400, bad("keys is required"), nil},
		{"keys blank", "/goim/push/keys?operation=1000&keys=&keys=,", "x", "", 400, bad("keys is required"), nil},
		{"keys empty body", "/goim/push/keys?operation=1000&keys=k1", "", "", 400, bad("message body is empty"), nil},
		{"keys body over limit", "/goim/push/keys?operation=1000&keys=k1", strings.Repeat("b", 17), "", 400, bad("message body of 17 bytes is over the 16 byte limit"), nil},
		// mids
		{"mids repeated", "/goim/push/mids?operation=1001&mids=1&mids=2", "m", "", 200, ok,
			[]summary{keysMsg(1001, "edge-a", "k1,k3", "m"), keysMsg(1001, "edge-b", "k2", "m")}},
		{"mids comma", "/goim/push/mids?operation=1001&mids=2,404", "m", "", 200, ok,
			[]summary{keysMsg(1001, "edge-a", "k3", "m")}},
		{"mids unknown", "/goim/push/mids?operation=1001&mids=404", "m", "", 200, ok, nil},
		{"mids not numeric", "/goim/push/mids?operation=1001&mids=1,x", "m", "", 400, bad(`mids: \"x\" is not a 64-bit integer`), nil},
		{"mids missing", "/goim/push/mids?operation=1001", "m", "", 400, bad("mids is required"), nil},
		{"mids no operation", "/goim/push/mids?mids=1", "m", "", 400, bad("operation is required"), nil},
		{"mids empty body", "/goim/push/mids?operation=1001&mids=1", "", "", 400, bad("message body is empty"), nil},
		{"mids op 9 raw", "/goim/push/mids?operation=9&mids=1", "m", "", 400, bad(reserved(9)), nil},
		{"mids op 3 reserved", "/goim/push/mids?operation=3&mids=404", "m", "", 400, bad(reserved(3)), nil},
		{"mids over the target cap", "/goim/push/mids?operation=1001&mids=1,2,3,4", "m", "", 400, bad("4 mids is over the limit of 3 per push"), nil},
		{"mids body over limit", "/goim/push/mids?operation=1001&mids=1", strings.Repeat("b", 17), "", 400, bad("message body of 17 bytes is over the 16 byte limit"), nil},
		// room
		{"room", "/goim/push/room?operation=1002&type=live&room=1000", "r", "", 200, ok,
			[]summary{{Kind: common.PushKind_ROOM, Op: 1002, Room: "live://1000", Body: "r"}}},
		{"room benchmark style", "/goim/push/room?operation=1000&type=test&room=1", "r", "text/plain", 200, ok,
			[]summary{{Kind: common.PushKind_ROOM, Op: 1000, Room: "test://1", Body: "r"}}},
		{"room op 0", "/goim/push/room?operation=0&type=live&room=1000", "r", "", 400, bad(reserved(0)), nil},
		{"room op 9 raw", "/goim/push/room?operation=9&type=live&room=1000", "r", "", 400, bad(reserved(9)), nil},
		{"room id at the limit", "/goim/push/room?operation=1000&type=live&room=" + strings.Repeat("r", 249), "r", "", 200, ok,
			[]summary{{Kind: common.PushKind_ROOM, Op: 1000, Room: "live://" + strings.Repeat("r", 249), Body: "r"}}},
		{"room id too long", "/goim/push/room?operation=1000&type=live&room=" + strings.Repeat("r", 250), "r", "", 400, bad(`room id \"live://rrrrrrrrrrrrrrrrrrrrrrrrr\"… is longer than 256 bytes`), nil},
		{"room type with ://", "/goim/push/room?operation=1000&type=a://b&room=1", "r", "", 400, bad(`type \"a://b\" must not contain \"://\"`), nil},
		{"room no operation", "/goim/push/room?type=live&room=1000", "r", "", 400, bad("operation is required"), nil},
		{"room no type", "/goim/push/room?operation=1000&room=1000", "r", "", 400, bad("type is required"), nil},
		{"room no room", "/goim/push/room?operation=1000&type=live", "r", "", 400, bad("room is required"), nil},
		{"room empty body", "/goim/push/room?operation=1000&type=live&room=1", "", "", 400, bad("message body is empty"), nil},
		{"room body over limit", "/goim/push/room?operation=1000&type=live&room=1", strings.Repeat("b", 100), "", 400, bad("message body of 100 bytes is over the 16 byte limit"), nil},
		// all
		{"all", "/goim/push/all?operation=1003&speed=200", "a", "", 200, ok,
			[]summary{{Kind: common.PushKind_BROADCAST, Op: 1003, Speed: 200, Body: "a"}}},
		{"all no speed", "/goim/push/all?operation=1003", "a", "", 200, ok,
			[]summary{{Kind: common.PushKind_BROADCAST, Op: 1003, Body: "a"}}},
		{"all text speed", "/goim/push/all?operation=1003&speed=fast", "a", "", 400, bad(`speed \"fast\" is not a 32-bit integer`), nil},
		{"all negative speed", "/goim/push/all?operation=1003&speed=-1", "a", "", 400, bad("speed -1 must not be negative"), nil},
		{"all op 0", "/goim/push/all?operation=0", "a", "", 400, bad(reserved(0)), nil},
		{"all op 9 raw", "/goim/push/all?operation=9", "a", "", 400, bad(reserved(9)), nil},
		{"all op 25 reserved", "/goim/push/all?operation=25", "a", "", 400, bad(reserved(25)), nil},
		{"all body over limit", "/goim/push/all?operation=1003", strings.Repeat("b", 17), "", 400, bad("message body of 17 bytes is over the 16 byte limit"), nil},
		{"all no operation", "/goim/push/all", "a", "", 400, bad("operation is required"), nil},
		{"all empty body", "/goim/push/all?operation=1003", "", "", 400, bad("message body is empty"), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.ctype != "" {
				hdr = []string{"Content-Type", c.ctype}
			}
			status, ctype, body := a.do(t, http.MethodPost, c.path, c.body, hdr...)
			if status != c.status || body != c.resp {
				t.Fatalf("got %d %s\nwant %d %s", status, body, c.status, c.resp)
			}
			if ctype != contentType {
				t.Fatalf("content type %q", ctype)
			}
			got := summarize(a.take(t))
			want := c.msgs
			if want == nil {
				want = []summary{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("queued %+v\nwant   %+v", got, want)
			}
		})
	}
}

func TestOnlineRoutes(t *testing.T) {
	eachStore(t, testOnlineRoutes)
}

func testOnlineRoutes(t *testing.T, st store.Store) {
	a := newAPIOn(t, st, DefaultConfig(), nil)

	// Before any edge reports: empty answers, not errors.
	for path, want := range map[string]string{
		"/goim/online/top?type=live&limit=10": `{"code":0,"message":"","data":[]}`,
		"/goim/online/room?type=live&rooms=1": `{"code":0,"message":"","data":{"1":0}}`,
		"/goim/online/total":                  `{"code":0,"message":"","data":{"conn_count":0,"ip_count":0}}`,
	} {
		if status, _, body := a.do(t, http.MethodGet, path, ""); status != 200 || body != want {
			t.Errorf("%s = %d %s, want %s", path, status, body, want)
		}
	}

	ctx := context.Background()
	for _, r := range []*logic.RenewOnlineReq{
		{Server: "edge-a", RoomCount: map[string]int32{"live://1000": 3, "live://2000": 1, "test://1": 5}, ConnCount: 9, IpCount: 4},
		{Server: "edge-b", RoomCount: map[string]int32{"live://1000": 2, "live://3000": 7}, ConnCount: 9, IpCount: 3},
	} {
		if _, err := a.l.RenewOnline(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		path   string
		status int
		resp   string
	}{
		{"/goim/online/top?type=live&limit=10", 200, `{"code":0,"message":"","data":[{"room_id":"3000","count":7},{"room_id":"1000","count":5},{"room_id":"2000","count":1}]}`},
		{"/goim/online/top?type=live&limit=1", 200, `{"code":0,"message":"","data":[{"room_id":"3000","count":7}]}`},
		{"/goim/online/top?type=test&limit=5", 200, `{"code":0,"message":"","data":[{"room_id":"1","count":5}]}`},
		{"/goim/online/top?type=nobody&limit=5", 200, `{"code":0,"message":"","data":[]}`},
		{"/goim/online/top?limit=5", 400, bad("type is required")},
		{"/goim/online/top?type=live", 400, bad("limit is required")},
		{"/goim/online/top?type=live&limit=ten", 400, bad(`limit \"ten\" is not an integer`)},
		{"/goim/online/top?type=live&limit=0", 400, bad("limit 0 must be positive")},
		{"/goim/online/room?type=live&rooms=1000&rooms=3000&rooms=9", 200, `{"code":0,"message":"","data":{"1000":5,"3000":7,"9":0}}`},
		{"/goim/online/room?type=live&rooms=1000,2000", 200, `{"code":0,"message":"","data":{"1000":5,"2000":1}}`},
		{"/goim/online/room?rooms=1000", 400, bad("type is required")},
		{"/goim/online/room?type=live", 400, bad("rooms is required")},
		{"/goim/online/total", 200, `{"code":0,"message":"","data":{"conn_count":18,"ip_count":7}}`},
	}
	for _, c := range cases {
		status, ctype, body := a.do(t, http.MethodGet, c.path, "")
		if status != c.status || body != c.resp || ctype != contentType {
			t.Errorf("%s = %d %s (%s)\nwant %d %s", c.path, status, body, ctype, c.status, c.resp)
		}
	}
}

func TestNodesRoutes(t *testing.T) {
	edges := static.New(
		registry.Instance{Service: registry.ServiceEdge, Node: "edge-a", Region: "sh", Domain: "a.example.com", Weight: 10, Addrs: registry.Addrs{TCP: "10.0.0.1:3101", WS: "10.0.0.1:3102", WSS: "10.0.0.1:3103"}},
	)
	a := newAPI(t, DefaultConfig(), edges)
	status, _, body := a.do(t, http.MethodGet, "/goim/nodes/instances", "")
	if status != 200 || !strings.HasPrefix(body, `{"code":0,"message":"","data":[{"env":"","service":"goim.edge","region":"sh","node":"edge-a","domain":"a.example.com","addrs":{"tcp":"10.0.0.1:3101","ws":"10.0.0.1:3102","wss":"10.0.0.1:3103"}`) {
		t.Fatalf("instances = %d %s", status, body)
	}
	const weighted = `{"code":0,"message":"","data":{"domain":"conn.goim.io","tcp_port":3101,"ws_port":3102,"wss_port":3103,"heartbeat":240,"heartbeat_max":2,"nodes":[%s],"backoff":{"max_delay":300,"base_delay":3,"factor":1.8,"jitter":0.3}}}`
	status, _, body = a.do(t, http.MethodGet, "/goim/nodes/weighted?platform=web", "")
	if want := fmt.Sprintf(weighted, `"a.example.com"`); status != 200 || body != want {
		t.Fatalf("weighted web = %d %s\nwant %s", status, body, want)
	}
	status, _, body = a.do(t, http.MethodGet, "/goim/nodes/weighted?platform=android", "")
	if status != 200 || !strings.Contains(body, `"nodes":["10.0.0.1"]`) {
		t.Fatalf("weighted android = %d %s", status, body)
	}

	empty := newAPI(t, DefaultConfig(), nil)
	if status, _, body := empty.do(t, http.MethodGet, "/goim/nodes/instances", ""); status != 200 || body != `{"code":0,"message":"","data":[]}` {
		t.Fatalf("instances without registry = %d %s", status, body)
	}
	// No edge to offer: goim's fallback, the default domain.
	if status, _, body := empty.do(t, http.MethodGet, "/goim/nodes/weighted", ""); status != 200 || body != fmt.Sprintf(weighted, `"conn.goim.io"`) {
		t.Fatalf("weighted without edges = %d %s", status, body)
	}
}

func TestAPIKey(t *testing.T) {
	a := newAPI(t, Config{APIKey: "s3cret"}, nil, limits(1024, 0), historyOn)
	a.route(t, 1, "k1", "edge-a")
	const refused = `{"code":-401,"message":"missing or wrong API key (send Authorization: Bearer KEY)"}`
	private := []struct{ method, path string }{
		{http.MethodPost, "/goim/push/keys?operation=1000&keys=k1"},
		{http.MethodPost, "/goim/push/mids?operation=1000&mids=1"},
		{http.MethodPost, "/goim/push/room?operation=1000&type=live&room=1"},
		{http.MethodPost, "/goim/push/all?operation=1000"},
		{http.MethodGet, "/goim/online/top?type=live&limit=1"},
		{http.MethodGet, "/goim/online/room?type=live&rooms=1"},
		{http.MethodGet, "/goim/online/total"},
		{http.MethodGet, "/goim/nodes/instances"},
		{http.MethodGet, "/goim/history?stream=user:1"},
		{http.MethodGet, "/goim/history/position?stream=room:live://1"},
	}
	for _, r := range private {
		for _, auth := range []string{"", "Bearer wrong", "s3cret", "Basic s3cret", "Bearer s3cret2", "Bearer"} {
			var hdr []string
			if auth != "" {
				hdr = []string{"Authorization", auth}
			}
			status, _, body := a.do(t, r.method, r.path, "x", hdr...)
			if status != http.StatusUnauthorized || body != refused {
				t.Errorf("%s %s with %q = %d %s", r.method, r.path, auth, status, body)
			}
		}
		if status, _, body := a.do(t, r.method, r.path, "x", "Authorization", "bearer s3cret"); status != 200 {
			t.Errorf("%s %s with the key = %d %s", r.method, r.path, status, body)
		}
	}
	if got := a.take(t); len(got) != 4 {
		t.Fatalf("only authorized pushes must be queued: got %d, want 4", len(got))
	}
	// Devices call nodes/weighted; it stays open.
	if status, _, body := a.do(t, http.MethodGet, "/goim/nodes/weighted?platform=web", ""); status != 200 {
		t.Fatalf("nodes/weighted without key = %d %s", status, body)
	}
}

func TestServerErrorIs500(t *testing.T) {
	a := newAPI(t, DefaultConfig(), nil)
	a.q.Close() // the queue is gone: every push fails on the server side
	for _, path := range []string{"/goim/push/room?operation=1000&type=live&room=1", "/goim/push/all?operation=1000"} {
		status, _, body := a.do(t, http.MethodPost, path, "x")
		if status != 500 || !strings.HasPrefix(body, `{"code":-500,"message":"logic: enqueue `) || !strings.Contains(body, "closed") {
			t.Errorf("%s with the queue closed = %d %s", path, status, body)
		}
	}
}

// A limit above Hertz's own 4 MiB default is honoured: Register raises
// the server's limit, so big bodies pass and one byte over gets goim's 400.
func TestBodyLimitAboveHertzDefault(t *testing.T) {
	const limit = 5 << 20
	a := newAPI(t, DefaultConfig(), nil, limits(limit, 0))
	if status, _, body := a.do(t, http.MethodPost, "/goim/push/all?operation=1000", strings.Repeat("x", limit)); status != 200 || body != ok {
		t.Fatalf("body at the limit = %d %s", status, body)
	}
	if got := a.take(t); len(got) != 1 || len(got[0].Body) != limit {
		t.Fatalf("queued %d messages", len(got))
	}
	status, _, body := a.do(t, http.MethodPost, "/goim/push/all?operation=1000", strings.Repeat("x", limit+1))
	if want := bad(fmt.Sprintf("message body of %d bytes is over the %d byte limit", limit+1, limit)); status != 400 || body != want {
		t.Fatalf("body over the limit = %d %s", status, body)
	}
}
