package auth

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func TestGrantSet(t *testing.T) {
	tests := []struct {
		name     string
		rooms    []string
		patterns []string
		want     []string
		err      string
	}{
		{"rooms only", []string{"live://1"}, nil, []string{"live://1"}, ""},
		{"nothing", nil, nil, []string{}, ""},
		{"patterns after rooms, deduplicated", []string{"live://1"}, []string{"live://1", "chat://*", "", "chat://*"}, []string{"live://1", "chat://*"}, ""},
		{"everything", nil, []string{"*"}, []string{"*"}, ""},
		{"exact grant must be a room", nil, []string{"nope"}, nil, "type://id"},
		{"pattern must be printable", nil, []string{"a b*"}, nil, "room grant"},
		{"too many", nil, manyRooms(maxGrants + 1), nil, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := grantSet(tt.rooms, tt.patterns)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) || got == nil {
				t.Fatalf("grantSet = %q (nil %v), %v; want %q", got, got == nil, err, tt.want)
			}
		})
	}
}

func manyRooms(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("live://%d", i)
	}
	return out
}

// TestJWTGrants: a jwt identity is restricted to its rooms and the
// room_grants claim (named by grants_claim); a bad grant refuses the
// token.
func TestJWTGrants(t *testing.T) {
	k := testKeys()
	c := DefaultConfig().JWT
	c.Alg, c.KeyFile = "HS256", writeFile(t, "secret", k.secret)
	a := newJWTAuth(t, c)
	ctx := context.Background()
	id, err := a.Authenticate(ctx, sign(t, jwt.SigningMethodHS256, k.secret, with(goodClaims(), func(c jwt.MapClaims) {
		c["room_grants"] = []string{"chat://*"}
	}), ""))
	if err != nil {
		t.Fatal(err)
	}
	if !id.Restricted || !slices.Equal(id.RoomGrants, []string{"live://1", "live://2", "chat://*"}) {
		t.Fatalf("grants = %v %q, want restricted to the rooms and chat://*", id.Restricted, id.RoomGrants)
	}
	id, err = a.Authenticate(ctx, sign(t, jwt.SigningMethodHS256, k.secret, with(goodClaims(), func(c jwt.MapClaims) { delete(c, "rooms") }), ""))
	if err != nil || !id.Restricted || id.RoomGrants == nil || len(id.RoomGrants) != 0 {
		t.Fatalf("no rooms, no grants: %v %q %v; want restricted to nothing", id.Restricted, id.RoomGrants, err)
	}
	if _, err := a.Authenticate(ctx, sign(t, jwt.SigningMethodHS256, k.secret, with(goodClaims(), func(c jwt.MapClaims) {
		c["room_grants"] = []any{1}
	}), "")); err == nil {
		t.Fatal("a non-string grant was accepted")
	}
}

// TestWebhookGrants: the backend's room_grants join its rooms as the
// identity's grants; every webhook identity is restricted.
func TestWebhookGrants(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request, token string) {
		switch token {
		case "granted":
			fmt.Fprint(w, `{"mid":1,"room_id":"live://1","room_grants":["live://*"]}`)
		case "plain":
			fmt.Fprint(w, `{"mid":2}`)
		case "bad-grant":
			fmt.Fprint(w, `{"mid":3,"room_grants":["no room"]}`)
		}
	})
	a := newWebhookAuth(t, b.url, func(c *WebhookConfig) { c.CacheTTL = 0 })
	ctx := context.Background()
	id, err := a.Authenticate(ctx, []byte("granted"))
	if err != nil || !id.Restricted || !slices.Equal(id.RoomGrants, []string{"live://1", "live://*"}) {
		t.Fatalf("granted: %v %q %v", id.Restricted, id.RoomGrants, err)
	}
	id, err = a.Authenticate(ctx, []byte("plain"))
	if err != nil || !id.Restricted || len(id.RoomGrants) != 0 {
		t.Fatalf("plain: %v %q %v; want restricted to nothing", id.Restricted, id.RoomGrants, err)
	}
	if _, err := a.Authenticate(ctx, []byte("bad-grant")); err == nil {
		t.Fatal("a malformed grant from the backend was accepted")
	}
}

// TestJSONModeUnrestricted: json mode grants every room (goim).
func TestJSONModeUnrestricted(t *testing.T) {
	a, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.Authenticate(context.Background(), []byte(`{"mid":1,"room_id":"live://1"}`))
	if err != nil || id.Restricted || id.RoomGrants != nil {
		t.Fatalf("json identity: %+v, %v; want unrestricted", id, err)
	}
}
