package config

import (
	"fmt"
	"sort"
	"strings"
)

// EnvPrefix starts every environment variable the configuration reads.
// A key's variable is the prefix plus its dotted TOML path upper-cased with
// dots replaced by underscores: edge.tcp_addr → GOIM_EDGE_TCP_ADDR.
const EnvPrefix = "GOIM_"

// EnvConfigFile names the config file when -config is not given.
const EnvConfigFile = EnvPrefix + "CONFIG"

// EnvName is the environment variable that overrides the key at path.
func EnvName(path string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// ApplyEnv sets every key of cfg that has a variable in environ ("K=V"
// pairs, as os.Environ returns). A GOIM_ variable that names no key is an
// error, so a typo does not silently leave the default in place.
func ApplyEnv(cfg any, environ []string) error {
	byName := map[string]field{}
	for _, f := range leaves(cfg) {
		byName[EnvName(f.path)] = f
	}
	var unknown []string
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || name == EnvConfigFile {
			continue
		}
		f, known := byName[name]
		if !known {
			unknown = append(unknown, name)
			continue
		}
		if err := parseInto(f.value, val); err != nil {
			return fmt.Errorf("config: environment %s (%s): %w", name, f.path, err)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("config: unknown environment variable(s) %s; `goim-edge config keys` lists the valid ones", strings.Join(unknown, ", "))
	}
	return nil
}
