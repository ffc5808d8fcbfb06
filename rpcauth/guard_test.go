package rpcauth

import (
	"context"
	"strings"
	"testing"

	"github.com/cloudwego/kitex/pkg/remote"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
)

const (
	testSecret   = "0123456789abcdef-current"
	testPrevious = "0123456789abcdef-previous"
)

// call runs one request carrying header values hdr (nil: no header)
// through the server's meta handler and the middleware, as Kitex does,
// and returns the middleware's error and whether the handler ran.
func call(t testing.TB, g *guard, hdr map[string]string) (error, bool) {
	ri := rpcinfo.NewRPCInfo(nil, nil, rpcinfo.NewInvocation("Edge", "Kick"), nil, nil)
	msg := remote.NewMessage(nil, ri, remote.Call, remote.Server)
	defer msg.Recycle()
	msg.TransInfo().PutTransStrInfo(hdr)
	ctx, err := serverHandler.ReadMeta(rpcinfo.NewCtxWithRPCInfo(context.Background(), ri), msg)
	if err != nil {
		t.Fatalf("ReadMeta: %v", err)
	}
	ran := false
	err = g.middleware(func(context.Context, any, any) error { ran = true; return nil })(ctx, nil, nil)
	return err, ran
}

func TestGuard(t *testing.T) {
	g := newGuard(Config{Secret: testSecret, PreviousSecrets: []string{testPrevious}})
	tests := []struct {
		name   string
		hdr    map[string]string
		reason string
	}{
		{"no header", nil, ReasonMissing},
		{"other headers only", map[string]string{"x": testSecret}, ReasonMissing},
		{"empty value", map[string]string{HeaderKey: ""}, ReasonMissing},
		{"wrong", map[string]string{HeaderKey: "nope"}, ReasonWrong},
		{"case differs", map[string]string{HeaderKey: strings.ToUpper(testSecret)}, ReasonWrong},
		{"trailing space", map[string]string{HeaderKey: testSecret + " "}, ReasonWrong},
		{"too long", map[string]string{HeaderKey: strings.Repeat("a", MaxSecretLen+1)}, ReasonWrong},
		{"current", map[string]string{HeaderKey: testSecret}, ""},
		{"previous", map[string]string{HeaderKey: testPrevious}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err, ran := call(t, g, tt.hdr)
			if tt.reason == "" {
				if err != nil || !ran {
					t.Fatalf("refused: %v (handler ran %v)", err, ran)
				}
				return
			}
			if ran {
				t.Fatal("handler ran for a refused call")
			}
			re, ok := err.(*RefusedError)
			if !ok || re.Reason != tt.reason || re.Service != "Edge" || !IsRefused(err) || re.TypeId() != TypeUnauthenticated {
				t.Fatalf("error %#v, want a RefusedError for Edge, reason %s", err, tt.reason)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Secret = testSecret
	tests := []struct {
		name string
		mod  func(*Config)
		want string // substring of the error; "" valid
	}{
		{"default", func(*Config) {}, ""},
		{"secret", func(c *Config) { c.Secret = testSecret }, ""},
		{"rotation", func(c *Config) { c.Secret, c.PreviousSecrets = testSecret, []string{testPrevious} }, ""},
		{"short secret", func(c *Config) { c.Secret = "short" }, "rpc.secret: must be at least 16 bytes"},
		{"long secret", func(c *Config) { c.Secret = strings.Repeat("a", MaxSecretLen+1) }, "rpc.secret: must be at most"},
		{"spaces", func(c *Config) { c.Secret = " " + testSecret }, "rpc.secret: must not start or end with spaces"},
		{"control", func(c *Config) { c.Secret = testSecret + "\n" + testSecret }, "rpc.secret: must not contain control characters"},
		{"bad previous", func(c *Config) { c.Secret, c.PreviousSecrets = testSecret, []string{"x"} }, "rpc.previous_secrets[0]: must be at least"},
		{"previous without secret", func(c *Config) { c.PreviousSecrets = []string{testPrevious} }, "set only with rpc.secret"},
		{"no payload limit", func(c *Config) { c.MaxPayloadBytes = 0 }, "rpc.max_payload_bytes 0"},
		{"huge payload limit", func(c *Config) { c.MaxPayloadBytes = MaxMaxPayloadBytes + 1 }, "rpc.max_payload_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mod(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Fatalf("error quotes the secret: %v", err)
			}
		})
	}
}

// FuzzGuard feeds arbitrary header values (and a second, arbitrary
// header) through the meta handler and the middleware: the handler runs
// exactly for the two accepted secrets, a refusal is always a counted
// RefusedError with the right reason, and nothing panics.
func FuzzGuard(f *testing.F) {
	for _, s := range []string{"", testSecret, testPrevious, testSecret[:5], testSecret + "\x00", strings.Repeat("z", 300)} {
		f.Add(s, "other")
	}
	g := newGuard(Config{Secret: testSecret, PreviousSecrets: []string{testPrevious}})
	f.Fuzz(func(t *testing.T, presented, other string) {
		err, ran := call(t, g, map[string]string{HeaderKey: presented, "x-" + other: other})
		accepted := presented == testSecret || presented == testPrevious
		if ran != accepted || (err == nil) != accepted {
			t.Fatalf("value %q: handler ran %v, error %v; accepted should be %v", presented, ran, err, accepted)
		}
		if accepted {
			return
		}
		re, ok := err.(*RefusedError)
		if !ok || !IsRefused(err) {
			t.Fatalf("value %q: error %#v is not a RefusedError", presented, err)
		}
		if want := ReasonWrong; presented == "" && re.Reason != ReasonMissing || presented != "" && re.Reason != want {
			t.Fatalf("value %q: reason %s", presented, re.Reason)
		}
	})
}

// BenchmarkGuard is the server-side cost of auth per call: reading the
// header into the context and checking it (one current and one previous
// secret), as Kitex runs them.
func BenchmarkGuard(b *testing.B) {
	g := newGuard(Config{Secret: testSecret, PreviousSecrets: []string{testPrevious}})
	ri := rpcinfo.NewRPCInfo(nil, nil, rpcinfo.NewInvocation("Edge", "Kick"), nil, nil)
	msg := remote.NewMessage(nil, ri, remote.Call, remote.Server)
	msg.TransInfo().PutTransStrInfo(map[string]string{HeaderKey: testSecret})
	base := rpcinfo.NewCtxWithRPCInfo(context.Background(), ri)
	next := func(context.Context, any, any) error { return nil }
	mw := g.middleware(next)
	b.ReportAllocs()
	for b.Loop() {
		ctx, _ := serverHandler.ReadMeta(base, msg)
		if err := mw(ctx, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}
