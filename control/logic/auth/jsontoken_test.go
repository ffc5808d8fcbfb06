package auth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestJSONToken(t *testing.T) {
	tests := []struct {
		name  string
		token string
		want  Identity // Key "*" means: any UUID
		err   bool
	}{
		{
			name:  "goim token",
			token: `{"mid":123,"key":"dev-1","room_id":"live://1000","platform":"web","accepts":[1000,1001,1002]}`,
			want:  Identity{Mid: 123, Key: "dev-1", Rooms: []string{"live://1000"}, Accepts: []int32{1000, 1001, 1002}, Platform: "web"},
		},
		{
			name:  "empty key gets a uuid",
			token: `{"mid":123,"key":"","room_id":"live://1000","platform":"web","accepts":[1000]}`,
			want:  Identity{Mid: 123, Key: "*", Rooms: []string{"live://1000"}, Accepts: []int32{1000}, Platform: "web"},
		},
		{
			name:  "rooms extension unions with room_id, deduplicated",
			token: `{"mid":1,"key":"k","room_id":"live://1","rooms":["live://2","live://1","test://1","live://2"]}`,
			want:  Identity{Mid: 1, Key: "k", Rooms: []string{"live://1", "live://2", "test://1"}},
		},
		{
			name:  "no room",
			token: `{"mid":1,"key":"k","room_id":""}`,
			want:  Identity{Mid: 1, Key: "k"},
		},
		{
			name:  "unknown fields ignored, surrounding space",
			token: " \n{\"mid\":5,\"key\":\"k\",\"extra\":{\"a\":[1,2]},\"nick\":\"x\"}\n",
			want:  Identity{Mid: 5, Key: "k"},
		},
		{name: "anonymous mid 0", token: `{"key":"k"}`, want: Identity{Key: "k"}},
		{
			// goim-example's examples/javascript/client.js, byte for byte
			// (mid as a string, spaces after commas).
			name:  "goim-example browser token",
			token: `{"mid":"123","key":"123456123", "room_id":"live://1000", "platform":"web", "accepts":[1000,1001,1002]}`,
			want:  Identity{Mid: 123, Key: "123456123", Rooms: []string{"live://1000"}, Accepts: []int32{1000, 1001, 1002}, Platform: "web"},
		},
		{name: "mid null is anonymous", token: `{"mid":null,"key":"k"}`, want: Identity{Key: "k"}},
		{name: "mid negative number kept as goim does", token: `{"mid":-5,"key":"k"}`, want: Identity{Mid: -5, Key: "k"}},
		{name: "mid string zero", token: `{"mid":"0","key":"k"}`, want: Identity{Key: "k"}},
		{name: "mid string max int64", token: `{"mid":"9223372036854775807","key":"k"}`, want: Identity{Mid: 9223372036854775807, Key: "k"}},
		{name: "mid string escaped digits", token: `{"mid":"\u0031\u0032","key":"k"}`, want: Identity{Mid: 12, Key: "k"}},
		{name: "mid string with letter", token: `{"mid":"12a","key":"k"}`, err: true},
		{name: "mid string empty", token: `{"mid":"","key":"k"}`, err: true},
		{name: "mid string negative", token: `{"mid":"-5","key":"k"}`, err: true},
		{name: "mid string plus sign", token: `{"mid":"+5","key":"k"}`, err: true},
		{name: "mid string fraction", token: `{"mid":"1.5","key":"k"}`, err: true},
		{name: "mid string exponent", token: `{"mid":"1e3","key":"k"}`, err: true},
		{name: "mid string spaces", token: `{"mid":" 12","key":"k"}`, err: true},
		{name: "mid string leading zero", token: `{"mid":"012","key":"k"}`, err: true},
		{name: "mid string overflow", token: `{"mid":"9223372036854775808","key":"k"}`, err: true},
		{name: "mid string non-ascii digits", token: `{"mid":"١٢","key":"k"}`, err: true},
		{name: "mid bool", token: `{"mid":true,"key":"k"}`, err: true},
		{name: "mid object", token: `{"mid":{"v":1},"key":"k"}`, err: true},
		{name: "mid exponent number", token: `{"mid":1e3,"key":"k"}`, err: true},
		{name: "mid fraction", token: `{"mid":1.5,"key":"k"}`, err: true},
		{name: "mid overflow", token: `{"mid":9223372036854775808}`, err: true},
		{name: "accepts overflow int32", token: `{"mid":1,"accepts":[2147483648]}`, err: true},
		{name: "accepts not numbers", token: `{"mid":1,"accepts":["1000"]}`, err: true},
		{name: "room without type", token: `{"mid":1,"room_id":"1000"}`, err: true},
		{name: "room empty id", token: `{"mid":1,"room_id":"live://"}`, err: true},
		{name: "room bad type", token: `{"mid":1,"room_id":"li ve://1"}`, err: true},
		{name: "room with control char", token: `{"mid":1,"rooms":["live://a\u0000b"]}`, err: true},
		{name: "rooms not a list", token: `{"mid":1,"rooms":"live://1"}`, err: true},
		{name: "key with space", token: `{"mid":1,"key":"a b"}`, err: true},
		{name: "garbage", token: `not json`, err: true},
		{name: "empty", token: ``, err: true},
		{name: "array", token: `[1,2]`, err: true},
		{name: "truncated", token: `{"mid":1,"key":"k"`, err: true},
		{name: "trailing data", token: `{"mid":1}{"mid":2}`, err: true},
		{name: "null", token: `null`, err: true},
	}
	a, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.Authenticate(context.Background(), []byte(tc.token))
			if tc.err {
				if !errors.Is(err, ErrRefused) {
					t.Fatalf("err = %v, want ErrRefused", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.Key == "*" {
				if _, perr := uuid.Parse(got.Key); perr != nil {
					t.Fatalf("key %q is not a UUID", got.Key)
				}
				tc.want.Key = got.Key
			}
			assertIdentity(t, got, tc.want)
		})
	}
}

// TestJSONModeWarns: operators must be told that json mode trusts clients.
func TestJSONModeWarns(t *testing.T) {
	var buf bytes.Buffer
	if _, err := New(DefaultConfig(), slog.New(slog.NewTextHandler(&buf, nil))); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "trusts the client") {
		t.Fatalf("no trust warning logged: %q", out)
	}
}

func TestJSONTokenGeneratedKeysDiffer(t *testing.T) {
	a, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := []byte(`{"mid":1,"key":""}`)
	one, err1 := a.Authenticate(context.Background(), tok)
	two, err2 := a.Authenticate(context.Background(), tok)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if one.Key == two.Key {
		t.Fatalf("two devices got the same generated key %q", one.Key)
	}
}

func TestJSONTooManyRooms(t *testing.T) {
	rooms := make([]string, 0, maxRooms+1)
	for i := range maxRooms + 1 {
		rooms = append(rooms, `"live://`+string(rune('a'+i%26))+string(rune('a'+i/26))+`"`)
	}
	tok := `{"mid":1,"rooms":[` + join(rooms) + `]}`
	if _, err := decodeJSONToken([]byte(tok)); !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v, want ErrRefused", err)
	}
}

func join(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

func assertIdentity(t *testing.T, got, want Identity) {
	t.Helper()
	if got.Mid != want.Mid || got.Key != want.Key || got.Platform != want.Platform ||
		!slices.Equal(got.Rooms, want.Rooms) || !slices.Equal(got.Accepts, want.Accepts) {
		t.Fatalf("identity = %+v, want %+v", got, want)
	}
}

// FuzzJSONToken: any input is either refused or yields an identity whose
// rooms and key satisfy the documented rules; nothing panics.
func FuzzJSONToken(f *testing.F) {
	for _, s := range []string{
		`{"mid":123,"key":"","room_id":"live://1000","platform":"web","accepts":[1000,1001,1002]}`,
		`{"mid":1,"key":"k","rooms":["live://2","test://1"]}`,
		`{"mid":"1"}`, `{"mid":"012"}`, `{"mid":"123","key":"123456123", "room_id":"live://1000"}`, `{}`, `[]`, `null`, ``, `{"rooms":["a://b","a://b"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, token []byte) {
		id, err := decodeJSONToken(token)
		if err != nil {
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("error %v does not wrap ErrRefused", err)
			}
			return
		}
		checkAccepted(t, id)
	})
}

// checkAccepted fails unless an identity an authenticator accepted meets
// the token rules: a valid key and valid, distinct rooms.
func checkAccepted(t *testing.T, id Identity) {
	t.Helper()
	if checkKey(id.Key) != nil {
		t.Fatalf("accepted bad key %q", id.Key)
	}
	seen := map[string]bool{}
	for _, r := range id.Rooms {
		if checkRoom(r) != nil || seen[r] {
			t.Fatalf("accepted bad or duplicate room %q in %v", r, id.Rooms)
		}
		seen[r] = true
	}
	if !id.Restricted {
		if id.RoomGrants != nil {
			t.Fatalf("unrestricted identity with grants %q", id.RoomGrants)
		}
		return
	}
	// Grants start with the rooms, hold no duplicates, and are rooms or
	// printable prefixes ending in "*".
	if len(id.RoomGrants) < len(id.Rooms) || !slices.Equal(id.RoomGrants[:len(id.Rooms)], id.Rooms) {
		t.Fatalf("grants %q do not start with the rooms %q", id.RoomGrants, id.Rooms)
	}
	seen = map[string]bool{}
	for _, g := range id.RoomGrants {
		prefix, pattern := strings.CutSuffix(g, "*")
		if seen[g] || (pattern && checkPrintable(prefix) != nil) || (!pattern && checkRoom(g) != nil) {
			t.Fatalf("accepted bad or duplicate grant %q in %q", g, id.RoomGrants)
		}
		seen[g] = true
	}
}

func BenchmarkJSONAuth(b *testing.B) {
	// What New(DefaultConfig(), nil) builds, without its warning per run.
	a := withKey{Authenticator: jsonAuth{}, mode: ModeJSON}
	tok := []byte(`{"mid":123,"key":"6f1c1a9e-7d1e-4bb1-9b1a-2d3e4f5a6b7c","room_id":"live://1000","platform":"web","accepts":[1000,1001,1002]}`)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Authenticate(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
