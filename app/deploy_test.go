package app

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/config/secret"
	"github.com/goim-edge/goim-edge/control/logic/auth"
)

// k8sDocs decodes every document of the Kubernetes manifests.
func k8sDocs(t *testing.T) []map[string]any {
	t.Helper()
	files, _ := filepath.Glob("../deploy/k8s/*.yaml")
	if len(files) < 5 {
		t.Fatalf("found only %v", files)
	}
	var docs []map[string]any
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
			docs = append(docs, doc)
		}
	}
	return docs
}

// k8sConfigs are the role configs of the Kubernetes ConfigMap, by file
// name ("logic.toml").
func k8sConfigs(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, doc := range k8sDocs(t) {
		if doc["kind"] != "ConfigMap" {
			continue
		}
		data, _ := doc["data"].(map[string]any)
		for name, body := range data {
			out[name], _ = body.(string)
		}
	}
	return out
}

// TestProductionExamplesAuthenticateDevices: every shipped config a logic
// runs from (deploy/config and the Kubernetes ConfigMap) uses jwt or
// webhook auth; json, which trusts whatever a device claims, is left to
// the standalone example, labelled for trusted networks.
func TestProductionExamplesAuthenticateDevices(t *testing.T) {
	type example struct {
		name, body string
		roles      []string
	}
	var examples []example
	files, _ := filepath.Glob("../deploy/config/*.toml")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		roles, ok := exampleRoles[filepath.Base(f)]
		if !ok {
			t.Errorf("%s: add it to exampleRoles", f)
		}
		examples = append(examples, example{f, string(raw), roles})
	}
	for name, body := range k8sConfigs(t) {
		examples = append(examples, example{"k8s ConfigMap " + name, body, []string{strings.TrimSuffix(name, ".toml")}})
	}
	authModes := 0
	for _, ex := range examples {
		p := filepath.Join(t.TempDir(), "example.toml")
		if err := os.WriteFile(p, []byte(ex.body), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Check(p)
		if err != nil {
			t.Errorf("%s: %v", ex.name, err)
			continue
		}
		switch {
		case slices.Contains(ex.roles, config.RoleLogic):
			authModes++
			if cfg.Auth.Mode != auth.ModeJWT && cfg.Auth.Mode != auth.ModeWebhook {
				t.Errorf("%s: a production logic config with auth mode %q; want jwt or webhook", ex.name, cfg.Auth.Mode)
			}
		case slices.Contains(ex.roles, config.RoleStandalone):
			authModes++
			if cfg.Auth.Mode == auth.ModeJSON && !strings.Contains(strings.ToLower(ex.body), "trusted networks only") {
				t.Errorf("%s: json auth without saying it is for trusted networks only", ex.name)
			}
		}
	}
	if authModes < 4 {
		t.Fatalf("checked the auth of %d examples, want logic.toml, cluster-static.toml, standalone.toml and the ConfigMap's logic.toml", authModes)
	}
}

// TestKubernetesSecretsShipNoUsableValue: every value of a Secret in
// deploy/k8s is a placeholder, and logic started from the ConfigMap with
// that Secret in its environment (as logic.yaml does) refuses to start,
// naming the key.
func TestKubernetesSecretsShipNoUsableValue(t *testing.T) {
	var environ []string
	for _, doc := range k8sDocs(t) {
		if doc["kind"] != "Secret" {
			continue
		}
		data, _ := doc["stringData"].(map[string]any)
		if len(data) == 0 || doc["data"] != nil {
			t.Fatalf("Secret %v: want stringData only (readable placeholders)", doc["metadata"])
		}
		for k, v := range data {
			s, _ := v.(string)
			if !secret.IsPlaceholder(s) {
				t.Errorf("Secret %v ships a usable value for %s", doc["metadata"], k)
			}
			environ = append(environ, k+"="+s)
		}
	}
	if len(environ) == 0 {
		t.Fatal("no Secret in deploy/k8s: logic.yaml reads goim-edge-secrets")
	}
	p := filepath.Join(t.TempDir(), "logic.toml")
	if err := os.WriteFile(p, []byte(k8sConfigs(t)["logic.toml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(config.Options{File: p, Environ: environ})
	const want = `logic.http.api_key is the placeholder "change-me": set a real secret (e.g. openssl rand -hex 32)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("logic with the shipped Secret: %v, want %q", err, want)
	}
}

// TestAdminPortsInNoService: the Kubernetes Services expose no admin port
// (/readyz and /metrics take no credential); probes use the admin ports.
func TestAdminPortsInNoService(t *testing.T) {
	for _, doc := range k8sDocs(t) {
		if doc["kind"] != "Service" {
			continue
		}
		spec, _ := doc["spec"].(map[string]any)
		ports, _ := spec["ports"].([]any)
		for _, p := range ports {
			pm, _ := p.(map[string]any)
			switch pm["port"] {
			case 3108, 3118, 3128:
				t.Errorf("Service %v exposes admin port %v", doc["metadata"], pm["port"])
			}
		}
	}
}
