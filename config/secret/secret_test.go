package secret

import (
	"errors"
	"strings"
	"testing"
)

func TestIsPlaceholder(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"change-me", true},
		{"changeme", true},
		{"CHANGE_ME", true},
		{"<change me>", true},
		{"change-me-to-a-long-random-string", true},
		{"please-replace-me", true},
		{"secret", true},
		{"Password", true},
		{"example", true},
		{"example-api-key-123", true},
		{"<your-api-key>", true},
		{"...", true},
		{"xxxxxxxxxxxxxxxx", true},
		{"0000000000000000", true},
		{"", false},
		{"   ", false},
		{"e2e-secret", false},
		{"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", false},
		{"s3cr3t-Zq81-kLm0-vvP2", false},
	}
	for _, tt := range tests {
		if got := IsPlaceholder(tt.v); got != tt.want {
			t.Errorf("IsPlaceholder(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestCheckAndRequire(t *testing.T) {
	const key = "logic.http.api_key"
	tests := []struct {
		name    string
		fn      func(string, string) error
		v       string
		wantErr string // "" = no error
		typ     any
	}{
		{"check placeholder", Check, "change-me", `logic.http.api_key is the placeholder "change-me": set a real secret (e.g. openssl rand -hex 32)`, &PlaceholderError{}},
		{"check empty is off", Check, "", "", nil},
		{"check real", Check, "1c2e6b0f3a9d4e57a8b1c0d2e3f40516", "", nil},
		{"require empty", Require, "", `logic.http.api_key is empty: set a real secret (e.g. openssl rand -hex 32)`, &MissingError{}},
		{"require blank", Require, "  \n", "is empty", &MissingError{}},
		{"require placeholder", Require, " changeme\n", `the placeholder "changeme"`, &PlaceholderError{}},
		{"require real", Require, "1c2e6b0f3a9d4e57a8b1c0d2e3f40516", "", nil},
		{"long placeholder shortened", Check, strings.Repeat("change-me-", 10), `"change-me-change-me-change-me-change-me-..."`, &PlaceholderError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fn(key, tt.v)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
			switch tt.typ.(type) {
			case *PlaceholderError:
				var pe *PlaceholderError
				if !errors.As(err, &pe) || pe.Key != key {
					t.Fatalf("error %T %v is not a PlaceholderError for %s", err, err, key)
				}
			case *MissingError:
				var me *MissingError
				if !errors.As(err, &me) || me.Key != key {
					t.Fatalf("error %T %v is not a MissingError for %s", err, err, key)
				}
			}
		})
	}
}
