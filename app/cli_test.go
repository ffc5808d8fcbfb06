package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/goim-edge/goim-edge/config"
)

func runCLI(t *testing.T, environ []string, args ...string) (stdout string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, environ, &out, &errOut)
	return out.String(), err
}

func TestCLICommands(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.toml")
	if err := os.WriteFile(good, []byte("[edge]\ntcp_addr = \":4101\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("[edge]\ntcp_adr = \":4101\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     []string
		args    []string
		wantOut string
		wantErr string
	}{
		{"version", nil, []string{"version"}, "goim-edge ", ""},
		{"help", nil, []string{"help"}, "", flag.ErrHelp.Error()},
		{"unknown command", nil, []string{"gateway"}, "", `unknown command "gateway"`},
		{"config check ok", nil, []string{"config", "check", good}, good + ": ok", ""},
		{"config check flags first", nil, []string{"config", "check", "-role", "standalone", good}, "ok", ""},
		{"config check names unknown key", nil, []string{"config", "check", bad}, "", "edge.tcp_adr"},
		{"config check role rule", nil, []string{"config", "check", good, "-role", "logic"}, "", "queue.kind memory"},
		{"config check needs file", nil, []string{"config", "check"}, "", "exactly one FILE"},
		{"config print applies env and flags", []string{"GOIM_EDGE_WS_ADDR=:5102"}, []string{"config", "print", "-config", good, "-set", "edge.rpc_addr=:5109"},
			"tcp_addr = \":4101\"", ""},
		{"config print via GOIM_CONFIG", []string{"GOIM_CONFIG=" + good}, []string{"config", "print"}, "tcp_addr = \":4101\"", ""},
		{"config keys", nil, []string{"config", "keys"}, "GOIM_EDGE_TCP_ADDR", ""},
		{"config without subcommand", nil, []string{"config"}, "", "check, print or keys"},
		{"role with stray argument", nil, []string{"edge", "extra"}, "", "unexpected arguments"},
		{"role with bad flag", nil, []string{"edge", "-nope"}, "", "-nope"},
		{"role config invalid for role", nil, []string{"job"}, "", "registry.static.edges"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runCLI(t, tt.env, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Fatalf("output %q lacks %q", out, tt.wantOut)
			}
		})
	}
}

func TestConfigPrintShowsOverrides(t *testing.T) {
	out, err := runCLI(t, []string{"GOIM_EDGE_WS_ADDR=:5102"}, "config", "print", "-set", "edge.rpc_addr=:5109", "-log-level", "debug")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`ws_addr = ":5102"`, `rpc_addr = ":5109"`, `level = "debug"`} {
		if !strings.Contains(out, want) {
			t.Errorf("config print lacks %s", want)
		}
	}
}

func TestMainExitCodes(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main([]string{"version"}, &out, &errOut); code != 0 {
		t.Fatalf("version exit %d", code)
	}
	if code := Main([]string{"gateway"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "Usage:") {
		t.Fatalf("usage error: exit %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	if code := Main([]string{"config", "check", "/nonexistent.toml"}, &out, &errOut); code != 1 {
		t.Fatalf("failed check exit %d", code)
	}
}

// exampleRoles maps each example config to the roles it is written for.
var exampleRoles = map[string][]string{
	"standalone.toml":     {config.RoleStandalone},
	"edge.toml":           {config.RoleEdge},
	"logic.toml":          {config.RoleLogic},
	"job.toml":            {config.RoleJob},
	"cluster-static.toml": {config.RoleEdge, config.RoleLogic, config.RoleJob},
}

// TestExampleConfigsPassCheck runs `config check FILE -role ROLE` on every
// file in deploy/config, so the examples cannot rot.
func TestExampleConfigsPassCheck(t *testing.T) {
	files, err := filepath.Glob("../deploy/config/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example configs found: %v", err)
	}
	for _, f := range files {
		roles, ok := exampleRoles[filepath.Base(f)]
		if !ok {
			t.Errorf("%s: add it to exampleRoles so it is checked", f)
			continue
		}
		for _, role := range roles {
			if out, err := runCLI(t, nil, "config", "check", f, "-role", role); err != nil {
				t.Errorf("%s as %s: %v", f, role, err)
			} else if !strings.Contains(out, ": ok") {
				t.Errorf("%s as %s: output %q", f, role, out)
			}
		}
	}
}

// TestKubernetesConfigMapPassesCheck checks the TOML embedded in the
// Kubernetes ConfigMap the same way.
func TestKubernetesConfigMapPassesCheck(t *testing.T) {
	raw, err := os.ReadFile("../deploy/k8s/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	checked := 0
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
		}
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("config.yaml: %v", err)
		}
		if doc.Kind != "ConfigMap" {
			continue
		}
		for name, body := range doc.Data {
			role := strings.TrimSuffix(name, ".toml")
			p := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := runCLI(t, nil, "config", "check", p, "-role", role); err != nil {
				t.Errorf("k8s ConfigMap %s: %v", name, err)
			}
			checked++
		}
	}
	if checked != 3 {
		t.Fatalf("checked %d ConfigMap entries, want logic, job and edge", checked)
	}
}

// configDocListing heads the default listing in docs/configuration.md.
const configDocListing = "## Every key with its default"

var updateDoc = flag.Bool("update-config-doc", false, "rewrite the default listing in docs/configuration.md")

// TestConfigDocKeysExist keeps docs/configuration.md honest: every key in
// its default listing must still be a key of the binary. Refresh the
// listing with: go test ./app -run TestConfigDocKeysExist -update-config-doc
func TestConfigDocKeysExist(t *testing.T) {
	const docPath = "../docs/configuration.md"
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	if *updateDoc {
		out, err := runCLI(t, nil, "config", "print", "-set", "node.id=<hostname>")
		if err != nil {
			t.Fatal(err)
		}
		doc := string(raw)
		start := strings.Index(doc, configDocListing)
		start += strings.Index(doc[start:], "```toml\n") + len("```toml\n")
		end := start + strings.Index(doc[start:], "```")
		raw = []byte(doc[:start] + out + doc[end:])
		if err := os.WriteFile(docPath, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The listing is the first TOML block under its heading; other
	// sections show partial examples.
	block := string(raw)
	block = block[max(strings.Index(block, configDocListing), 0):]
	i := strings.Index(block, "```toml\n")
	if i < 0 {
		t.Fatal("docs/configuration.md has no ```toml block")
	}
	block = block[i+len("```toml\n"):]
	block = block[:strings.Index(block, "```")]
	valid := map[string]bool{}
	for _, k := range config.Keys(config.Default()) {
		valid[k] = true
	}
	section := ""
	checked := 0
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, _, ok := strings.Cut(line, " = ")
			if !ok {
				t.Errorf("unparsed line %q", line)
				continue
			}
			key := section + "." + k
			if !valid[key] && !strings.HasPrefix(key, "registry.static.") && !strings.HasPrefix(key, "logic.nodes.regions") {
				t.Errorf("docs/configuration.md lists %s, which the binary no longer has; refresh it: go test ./app -run TestConfigDocKeysExist -update-config-doc", key)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("checked only %d keys", checked)
	}
}

// TestDeployManifestsParse catches YAML mistakes in the Kubernetes
// manifests and the Compose file, and checks the probes point at the
// health endpoints every role serves.
func TestDeployManifestsParse(t *testing.T) {
	files, _ := filepath.Glob("../deploy/k8s/*.yaml")
	files = append(files, "../deploy/docker/docker-compose.yml")
	if len(files) < 5 {
		t.Fatalf("found only %v", files)
	}
	kinds := map[string]int{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatalf("%s: %v", f, err)
			}
			if strings.HasSuffix(f, ".yml") {
				if _, ok := doc["services"]; !ok {
					t.Errorf("%s: no services", f)
				}
				continue
			}
			kind, _ := doc["kind"].(string)
			if kind == "" || doc["apiVersion"] == nil {
				t.Errorf("%s: a document without kind/apiVersion", f)
			}
			kinds[kind]++
		}
	}
	for _, k := range []string{"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "ConfigMap"} {
		if kinds[k] == 0 {
			t.Errorf("no %s in deploy/k8s", k)
		}
	}
	for _, f := range []string{"edge.yaml", "logic.yaml", "job.yaml"} {
		raw, _ := os.ReadFile("../deploy/k8s/" + f)
		if !strings.Contains(string(raw), "path: /readyz") || !strings.Contains(string(raw), "path: /healthz") {
			t.Errorf("%s: readiness and liveness probes must use /readyz and /healthz", f)
		}
	}
}
