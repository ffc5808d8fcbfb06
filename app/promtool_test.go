package app

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestMonitoringPassesPromtool runs Prometheus's own checker on the alert
// rules and on every dashboard query (as recording rules, with Grafana's
// variables filled in), so a PromQL syntax error fails here rather than in
// Prometheus or Grafana, and the alerts' unit tests (alerts_test.yaml). promtool comes with Debian's prometheus package
// (make test-deps installs it).
func TestMonitoringPassesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: run `make test-deps` (it installs Debian's prometheus package) or apt-get install prometheus")
	}
	raw, err := os.ReadFile(monitoringDir + "grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	vars := strings.NewReplacer("$__rate_interval", "5m", "$namespace", ".*")
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			rules = append(rules, rule{Record: "dashboard:query", Expr: vars.Replace(tg.Expr)})
		}
	}
	out, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	dashRules := filepath.Join(t.TempDir(), "dashboard-rules.yaml")
	if err := os.WriteFile(dashRules, out, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{monitoringDir + "alerts.yaml", dashRules} {
		if out, err := exec.Command(promtool, "check", "rules", f).CombinedOutput(); err != nil {
			t.Errorf("promtool check rules %s: %v\n%s", filepath.Base(f), err, out)
		}
	}
	// The alerts' own unit tests: they fire on the series they watch.
	if out, err := exec.Command(promtool, "test", "rules", monitoringDir+"alerts_test.yaml").CombinedOutput(); err != nil {
		t.Errorf("promtool test rules alerts_test.yaml: %v\n%s", err, out)
	}
}
