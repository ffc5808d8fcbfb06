package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/goim-edge/goim-edge/control/logic"
)

// Options says where the configuration comes from, in increasing priority:
// defaults, the TOML file, the environment, then -set flags.
type Options struct {
	// File is the TOML file; empty means defaults only.
	File string
	// Environ is the environment as "K=V" pairs (os.Environ()); nil reads none.
	Environ []string
	// Sets are "dotted.key=value" overrides from the command line.
	Sets []string
}

// Load builds the effective configuration and validates it.
func Load(o Options) (*Config, error) {
	cfg := Default()
	if o.File != "" {
		if err := decodeFile(o.File, cfg); err != nil {
			return nil, err
		}
	}
	if err := ApplyEnv(cfg, o.Environ); err != nil {
		return nil, err
	}
	for _, kv := range o.Sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("config: -set %q: want key=value", kv)
		}
		if err := Set(cfg, strings.TrimSpace(k), v); err != nil {
			return nil, err
		}
	}
	if err := cfg.applyRenamed(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// applyRenamed moves values given under a key's old name to the new one,
// so configuration written for an earlier version keeps its meaning.
// Giving both names different values is an error: which one was meant
// cannot be known.
func (c *Config) applyRenamed() error {
	if old := c.Job.RoomBatchWindow; old != 0 {
		if cur := c.Job.RoomCoalesceWindow; cur != 0 && cur != old {
			return fmt.Errorf("config: job.room_batch_window = %v and job.room_coalesce_window = %v: the first is the old name of the second; keep only job.room_coalesce_window", old, cur)
		}
		c.Job.RoomCoalesceWindow = old
	}
	old := c.Logic.HTTP.MaxBodyBytes
	if old == 0 {
		return nil
	}
	if cur := c.Logic.MaxBodyBytes; cur != old && cur != logic.DefaultMaxBodyBytes {
		return fmt.Errorf("config: logic.http.max_body_bytes = %d and logic.max_body_bytes = %d: the first is the old name of the second (which now covers the Kitex Push service too); keep only logic.max_body_bytes", old, cur)
	}
	c.Logic.MaxBodyBytes = old
	return nil
}

// Check loads file on top of the defaults (no environment, no flags) and
// validates it: `goim-edge config check FILE`.
func Check(file string) (*Config, error) {
	return Load(Options{File: file})
}

// decodeFile decodes a TOML file strictly: an unknown key is an error that
// names it (and the line it is on), so a misspelt setting never silently
// falls back to its default.
func decodeFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	md, err := toml.Decode(string(data), cfg)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return fmt.Errorf("config: %s: %s", path, strings.TrimSpace(perr.ErrorWithPosition()))
		}
		return fmt.Errorf("config: %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return fmt.Errorf("config: %s: unknown key(s): %s", path, strings.Join(keys, ", "))
	}
	return nil
}

// secretSuffixes mark keys whose values Encode hides (strings, and each
// item of string lists such as rpc.previous_secrets).
var secretSuffixes = []string{"password", "api_key", "token", "secret", "secrets"}

// Redacted is what Encode prints instead of a secret.
const Redacted = "<redacted>"

// Encode writes cfg as TOML, for `goim-edge config print`, with every
// non-empty secret (passwords, API keys, tokens) replaced by Redacted so
// the output can be pasted into a ticket.
func Encode(cfg *Config) (string, error) {
	c := *cfg
	for _, f := range leaves(&c) {
		for _, suf := range secretSuffixes {
			if !strings.HasSuffix(f.path, suf) {
				continue
			}
			switch {
			case f.value.Kind() == reflect.String && f.value.String() != "":
				f.value.SetString(Redacted)
			case f.value.Kind() == reflect.Slice && f.value.Type().Elem().Kind() == reflect.String && f.value.Len() > 0:
				// A fresh slice: c shares the caller's backing array.
				red := reflect.MakeSlice(f.value.Type(), f.value.Len(), f.value.Len())
				for i := range red.Len() {
					red.Index(i).SetString(Redacted)
				}
				f.value.Set(red)
			}
		}
	}
	var b strings.Builder
	if err := toml.NewEncoder(&b).Encode(&c); err != nil {
		return "", fmt.Errorf("config: encode: %w", err)
	}
	return b.String(), nil
}
