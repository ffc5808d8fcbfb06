package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"text/template"

	"go.yaml.in/yaml/v3"
)

const chartDir = "../deploy/helm/goim-edge/"

// helmFuncs are the Helm (sprig) functions the chart's templates use,
// with Helm's semantics; _helpers.tpl asks templates to keep to them.
// include is bound per render.
func helmFuncs() template.FuncMap {
	indent := func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
	}
	empty := func(v any) bool {
		switch x := v.(type) {
		case nil:
			return true
		case string:
			return x == ""
		case bool:
			return !x
		case int:
			return x == 0
		case float64:
			return x == 0
		case []any:
			return len(x) == 0
		case map[string]any:
			return len(x) == 0
		}
		return false
	}
	return template.FuncMap{
		"include": func(string, any) (string, error) { return "", errors.New("include is bound per render") },
		"toYaml": func(v any) (string, error) {
			var b bytes.Buffer
			enc := yaml.NewEncoder(&b)
			enc.SetIndent(2)
			if err := enc.Encode(v); err != nil {
				return "", err
			}
			return strings.TrimSuffix(b.String(), "\n"), nil
		},
		"toJson": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"quote": func(v any) string {
			if v == nil {
				return ""
			}
			return fmt.Sprintf("%q", fmt.Sprint(v))
		},
		"default": func(def, v any) any {
			if empty(v) {
				return def
			}
			return v
		},
		"required": func(msg string, v any) (any, error) {
			if v == nil || v == "" {
				return nil, errors.New(msg)
			}
			return v, nil
		},
		"fail":       func(msg string) (string, error) { return "", errors.New(msg) },
		"nindent":    func(n int, s string) string { return "\n" + indent(n, s) },
		"indent":     indent,
		"contains":   func(sub, s string) bool { return strings.Contains(s, sub) },
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"trunc": func(n int, s string) string {
			if len(s) > n {
				return s[:n]
			}
			return s
		},
		"list": func(v ...any) []any { return v },
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, errors.New("dict: odd number of arguments")
			}
			m := map[string]any{}
			for i := 0; i < len(kv); i += 2 {
				m[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return m, nil
		},
	}
}

// mergeValues lays over onto base, as `helm -f` or --set does.
func mergeValues(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = mergeValues(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// renderChart renders every template of the chart with values laid over
// the chart's values.yaml, the way `helm template goim-edge deploy/helm/goim-edge`
// does, and decodes the objects.
func renderChart(t *testing.T, over map[string]any) ([]map[string]any, error) {
	t.Helper()
	chart := readYAML(t, chartDir+"Chart.yaml")
	data := map[string]any{
		"Values":  mergeValues(readYAML(t, chartDir+"values.yaml"), over),
		"Release": map[string]any{"Name": "goim-edge", "Namespace": "goim", "Service": "Helm"},
		"Chart": map[string]any{"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"],
			"APIVersion": chart["apiVersion"]},
	}
	files, err := filepath.Glob(chartDir + "templates/*")
	if err != nil || len(files) < 4 {
		t.Fatalf("templates: %v %v", files, err)
	}
	root := template.New("chart").Option("missingkey=zero")
	funcs := helmFuncs()
	funcs["include"] = func(name string, v any) (string, error) {
		var b strings.Builder
		err := root.ExecuteTemplate(&b, name, v)
		return b.String(), err
	}
	root.Funcs(funcs)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := root.New(filepath.Base(f)).Parse(string(raw)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	var objs []map[string]any
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasPrefix(name, "_") || !strings.HasSuffix(name, ".yaml") {
			continue
		}
		var b strings.Builder
		if err := root.ExecuteTemplate(&b, name, data); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out := strings.ReplaceAll(b.String(), "<no value>", "")
		dec := yaml.NewDecoder(strings.NewReader(out))
		for {
			var obj map[string]any
			if err := dec.Decode(&obj); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatalf("%s renders invalid YAML: %v\n%s", name, err, out)
			}
			if obj != nil {
				objs = append(objs, obj)
			}
		}
	}
	return objs, nil
}

// path digs into a decoded object: path(o, "spec", "template", "spec").
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// TestHelmChartRenders renders the chart with its defaults and with
// other modes, and checks every object: kind, apiVersion, a valid unique
// name; role configs that pass `config check` for their role; references
// to the ConfigMap and the Secrets named in the values; probes on the
// health endpoints; no admin port in any Service; Services and
// Deployments selecting their own pods.
func TestHelmChartRenders(t *testing.T) {
	variants := []struct {
		name string
		over map[string]any
	}{
		{"defaults", nil},
		{"webhook, kafka, public host", map[string]any{
			"auth":  map[string]any{"mode": "webhook", "webhook": map[string]any{"url": "https://auth.internal.test/goim"}},
			"queue": map[string]any{"kind": "kafka"},
			"edge": map[string]any{"publicHost": "push.goim.test", "publicPorts": map[string]any{"tcp": 443, "ws": 80, "wss": 0},
				"autoscaling": map[string]any{"enabled": false}},
			"logic":      map[string]any{"extraConfig": "[logic.nodes]\ndomain = \"push.goim.test\"\n"},
			"redis":      map[string]any{"passwordSecret": "goim-redis"},
			"registry":   map[string]any{"passwordSecret": "goim-etcd", "username": "goim"},
			"monitoring": map[string]any{"serviceMonitor": map[string]any{"enabled": true}},
			"trace":      map[string]any{"enabled": true, "sampleRatio": 0.25},
			"extraEnv":   []any{map[string]any{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector:4318"}},
		}},
		{"jwt from jwks", map[string]any{
			"auth": map[string]any{"jwt": map[string]any{"jwksURL": "https://auth.internal.test/jwks.json", "keySecret": ""}},
		}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			objs, err := renderChart(t, v.over)
			if err != nil {
				t.Fatal(err)
			}
			checkChartObjects(t, objs, mergeValues(readYAML(t, chartDir+"values.yaml"), v.over))
		})
	}
	t.Run("json auth refused", func(t *testing.T) {
		_, err := renderChart(t, map[string]any{"auth": map[string]any{"mode": "json"}})
		if err == nil || !strings.Contains(err.Error(), "json trusts whatever a device claims") {
			t.Fatalf("render with auth.mode json: %v", err)
		}
	})
	t.Run("secret required", func(t *testing.T) {
		_, err := renderChart(t, map[string]any{"secrets": map[string]any{"existingSecret": ""}})
		if err == nil || !strings.Contains(err.Error(), "secrets.existingSecret is required") {
			t.Fatalf("render without secrets.existingSecret: %v", err)
		}
	})
}

func checkChartObjects(t *testing.T, objs []map[string]any, values map[string]any) {
	t.Helper()
	kinds := map[string]int{}
	names := map[string]bool{}
	var configMap string
	podLabels := map[string]map[string]any{} // Deployment name → pod labels
	for _, o := range objs {
		kind, _ := o["kind"].(string)
		name, _ := path(o, "metadata", "name").(string)
		if kind == "" || o["apiVersion"] == nil || !dnsLabel.MatchString(name) || len(name) > 63 {
			t.Errorf("object %s %q: needs kind, apiVersion and a DNS-label name", kind, name)
		}
		if names[kind+"/"+name] {
			t.Errorf("%s %s rendered twice", kind, name)
		}
		names[kind+"/"+name] = true
		kinds[kind]++
		switch kind {
		case "ConfigMap":
			configMap = name
			data, _ := o["data"].(map[string]any)
			for _, role := range []string{"logic", "job", "edge"} {
				body, _ := data[role+".toml"].(string)
				p := filepath.Join(t.TempDir(), role+".toml")
				if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				if _, err := runCLI(t, nil, "config", "check", p, "-role", role); err != nil {
					t.Errorf("ConfigMap %s.toml: %v\n%s", role, err, body)
				}
			}
		case "Deployment":
			labels, _ := path(o, "spec", "template", "metadata", "labels").(map[string]any)
			podLabels[name] = labels
			match, _ := path(o, "spec", "selector", "matchLabels").(map[string]any)
			for k, v := range match {
				if labels[k] != v {
					t.Errorf("Deployment %s: selector %s=%v does not match its pods", name, k, v)
				}
			}
			raw, _ := yaml.Marshal(o)
			wants := []string{"path: /readyz", "path: /healthz", "GOIM_RPC_SECRET"}
			extra, _ := values["extraEnv"].([]any)
			for _, e := range extra {
				wants = append(wants, fmt.Sprint(path(e, "name")))
			}
			for _, want := range wants {
				if !strings.Contains(string(raw), want) {
					t.Errorf("Deployment %s lacks %q", name, want)
				}
			}
		case "Service":
			if path(o, "spec", "clusterIP") == "None" {
				break // a headless metrics Service routes nothing
			}
			ports, _ := path(o, "spec", "ports").([]any)
			for _, p := range ports {
				switch path(p, "port") {
				case 3108, 3118, 3128:
					t.Errorf("Service %s exposes admin port %v", name, path(p, "port"))
				}
			}
		}
	}
	for _, k := range []string{"ConfigMap", "Service", "Deployment", "PodDisruptionBudget"} {
		if kinds[k] == 0 {
			t.Errorf("no %s rendered", k)
		}
	}
	if kinds["Deployment"] != 3 {
		t.Errorf("%d Deployments, want logic, job and edge", kinds["Deployment"])
	}
	// Every Service selects the pods of one Deployment; every reference
	// points at the ConfigMap or at a Secret the values name.
	secrets := map[string]bool{}
	for _, k := range [][]string{{"secrets", "existingSecret"}, {"auth", "jwt", "keySecret"}, {"redis", "passwordSecret"}, {"registry", "passwordSecret"}} {
		if s, _ := path(values, k...).(string); s != "" {
			secrets[s] = true
		}
	}
	for _, o := range objs {
		name, _ := path(o, "metadata", "name").(string)
		if o["kind"] == "Service" {
			sel, _ := path(o, "spec", "selector").(map[string]any)
			found := false
			for _, labels := range podLabels {
				ok := len(sel) > 0
				for k, v := range sel {
					ok = ok && labels[k] == v
				}
				found = found || ok
			}
			if !found {
				t.Errorf("Service %s selects no Deployment's pods", name)
			}
		}
		raw, _ := json.Marshal(o)
		for _, m := range regexp.MustCompile(`"configMap":\{"name":"([^"]+)"`).FindAllStringSubmatch(string(raw), -1) {
			if m[1] != configMap {
				t.Errorf("%s mounts ConfigMap %s; the chart renders %s", name, m[1], configMap)
			}
		}
		for _, re := range []string{`"secretKeyRef":\{"key":"[^"]+","name":"([^"]+)"`, `"secretName":"([^"]+)"`} {
			for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(string(raw), -1) {
				if !secrets[m[1]] {
					t.Errorf("%s references Secret %s, which no value names", name, m[1])
				}
			}
		}
	}
	var got []string
	for k := range names {
		got = append(got, k)
	}
	sort.Strings(got)
	t.Logf("rendered %v", got)
}
