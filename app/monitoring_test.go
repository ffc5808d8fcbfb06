package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const monitoringDir = "../deploy/monitoring/"

// promqlDrop are the parts of a PromQL expression that are not series
// names: label matchers, strings, range and offset durations, and the
// label lists of by/without/on/ignoring/group_*.
var promqlDrop = []*regexp.Regexp{
	regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`),
	regexp.MustCompile(`\{[^}]*\}`),
	regexp.MustCompile(`\[[^\]]*\]`),
	regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`),
	regexp.MustCompile(`\boffset\s+-?[0-9a-z]+`),
	regexp.MustCompile(`\b[0-9][0-9a-zA-Z.+-]*`), // numbers, durations
}

// promqlIdent is an identifier; followed by "(" it is a function.
var promqlIdent = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*\s*\(?`)

// promqlWords are PromQL's keywords, which look like identifiers.
var promqlWords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "and": true, "or": true, "unless": true, "offset": true, "inf": true, "nan": true,
}

// seriesIn lists the series names an expression selects. Grafana's
// variables ($__rate_interval, $namespace) only occur inside dropped
// parts.
func seriesIn(expr string) []string {
	for _, re := range promqlDrop {
		expr = re.ReplaceAllString(expr, " ")
	}
	var out []string
	for _, m := range promqlIdent.FindAllString(expr, -1) {
		m = strings.TrimSpace(m)
		if strings.HasSuffix(m, "(") || promqlWords[strings.ToLower(m)] {
			continue
		}
		out = append(out, m)
	}
	return out
}

func TestSeriesIn(t *testing.T) {
	got := seriesIn(`histogram_quantile(0.99, sum by (le, route) (rate(goim_a_bucket{x=~"$ns",y!="a{b}"}[$__rate_interval]))) / on (pod) group_left (role) goim_b offset 5m > bool 1 and goim_c`)
	if strings.Join(got, ",") != "goim_a_bucket,goim_b,goim_c" {
		t.Fatalf("seriesIn: %q", got)
	}
}

// checkSeries reports series names that no registered metric produces.
func checkSeries(t *testing.T, where, expr string, reg map[string]*metricDesc) {
	t.Helper()
	names := seriesIn(expr)
	if len(names) == 0 {
		t.Errorf("%s: %q selects no series", where, expr)
	}
	for _, n := range names {
		if reg[n] != nil {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
		// A histogram's series; its type shows only once it has a sample,
		// so an unseen type passes and a seen non-histogram fails.
		if m := reg[base]; base != n && m != nil && (m.Type == "" || m.Type == "histogram" || (m.Type == "summary" && !strings.HasSuffix(n, "_bucket"))) {
			continue
		}
		t.Errorf("%s: %s is not a metric the binaries register (expr %q)", where, n, expr)
	}
}

// TestMonitoringUsesRegisteredMetrics parses the Grafana dashboard and the
// alert rules and checks every series their expressions select against
// the live registry, so a renamed or removed metric breaks this test, not
// an operator's dashboard.
func TestMonitoringUsesRegisteredMetrics(t *testing.T) {
	reg := registeredMetrics(t)
	t.Run("dashboard", func(t *testing.T) {
		raw, err := os.ReadFile(monitoringDir + "grafana-dashboard.json")
		if err != nil {
			t.Fatal(err)
		}
		var dash struct {
			Title      string `json:"title"`
			UID        string `json:"uid"`
			Templating struct {
				List []struct {
					Name  string `json:"name"`
					Query any    `json:"query"`
				} `json:"list"`
			} `json:"templating"`
			Panels []struct {
				ID      int    `json:"id"`
				Type    string `json:"type"`
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &dash); err != nil {
			t.Fatalf("dashboard: %v", err)
		}
		if dash.Title == "" || dash.UID == "" {
			t.Fatal("dashboard without title or uid")
		}
		ids, exprs := map[int]bool{}, 0
		for _, p := range dash.Panels {
			if ids[p.ID] {
				t.Errorf("panel id %d used twice", p.ID)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				checkSeries(t, "panel "+p.Title, tg.Expr, reg)
				exprs++
			}
		}
		for _, v := range dash.Templating.List {
			if q, ok := v.Query.(map[string]any); ok {
				expr, _ := q["query"].(string)
				expr = strings.TrimSuffix(strings.TrimPrefix(expr, "label_values("), ")")
				expr, _, _ = strings.Cut(expr, ",")
				checkSeries(t, "variable "+v.Name, expr, reg)
			}
		}
		// What the dashboard must show (issue 16).
		all := string(raw)
		for _, m := range []string{"goim_edge_connections", "goim_logic_pushes_total", "goim_edge_delivered_total",
			"goim_job_push_delay_seconds_bucket", "goim_queue_lag", "goim_job_edges_down", "goim_edge_drops_total",
			"goim_auth_total", "goim_rpc_auth_refused_total"} {
			if !strings.Contains(all, m) {
				t.Errorf("dashboard does not show %s", m)
			}
		}
		if exprs < 20 {
			t.Fatalf("only %d expressions checked", exprs)
		}
	})
	t.Run("alerts", func(t *testing.T) {
		raw, err := os.ReadFile(monitoringDir + "alerts.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var rules struct {
			Groups []struct {
				Name  string `yaml:"name"`
				Rules []struct {
					Alert       string            `yaml:"alert"`
					Expr        string            `yaml:"expr"`
					For         string            `yaml:"for"`
					Labels      map[string]string `yaml:"labels"`
					Annotations map[string]string `yaml:"annotations"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true) // a misspelt key would be ignored by a plain decode
		if err := dec.Decode(&rules); err != nil {
			t.Fatalf("alerts.yaml: %v", err)
		}
		names, n := map[string]bool{}, 0
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				n++
				if r.Alert == "" || names[r.Alert] {
					t.Errorf("rule %q: missing or repeated alert name", r.Alert)
				}
				names[r.Alert] = true
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
				if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
					t.Errorf("%s: needs labels.severity and annotations.summary", r.Alert)
				}
				if strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") {
					t.Errorf("%s: unbalanced parentheses in %q", r.Alert, r.Expr)
				}
				checkSeries(t, "alert "+r.Alert, r.Expr, reg)
			}
		}
		if n < 8 {
			t.Fatalf("only %d rules", n)
		}
	})
}

// TestServiceMonitorFindsTheAdminPorts: the ServiceMonitor selects the
// metrics Services, which are headless and select the pods of
// deploy/k8s on the port those pods name "admin".
func TestServiceMonitorFindsTheAdminPorts(t *testing.T) {
	adminPort := map[string]int{} // pod app label → admin containerPort
	for _, doc := range k8sDocs(t) {
		if doc["kind"] != "Deployment" && doc["kind"] != "StatefulSet" {
			continue
		}
		var d struct {
			Spec struct {
				Template struct {
					Metadata struct {
						Labels map[string]string `yaml:"labels"`
					} `yaml:"metadata"`
					Spec struct {
						Containers []struct {
							Ports []struct {
								Name          string `yaml:"name"`
								ContainerPort int    `yaml:"containerPort"`
							} `yaml:"ports"`
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		b, _ := yaml.Marshal(doc)
		if err := yaml.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == "admin" {
					adminPort[d.Spec.Template.Metadata.Labels["app"]] = p.ContainerPort
				}
			}
		}
	}
	raw, err := os.ReadFile(monitoringDir + "servicemonitor.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type object struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name   string            `yaml:"name"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec struct {
			ClusterIP string           `yaml:"clusterIP"`
			Selector  map[string]any   `yaml:"selector"`
			Ports     []map[string]any `yaml:"ports"`
		} `yaml:"spec"`
	}
	var services []object
	var monitor *object
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var o object
		if err := dec.Decode(&o); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("servicemonitor.yaml: %v", err)
		}
		switch o.Kind {
		case "Service":
			services = append(services, o)
		case "ServiceMonitor":
			if o.APIVersion != "monitoring.coreos.com/v1" {
				t.Errorf("ServiceMonitor apiVersion %q", o.APIVersion)
			}
			monitor = &o
		default:
			t.Errorf("unexpected %s %s", o.Kind, o.Metadata.Name)
		}
	}
	if monitor == nil || len(services) != 3 {
		t.Fatalf("want a ServiceMonitor and 3 Services, got %v and %d", monitor != nil, len(services))
	}
	match, _ := monitor.Spec.Selector["matchLabels"].(map[string]any)
	for _, s := range services {
		if s.Spec.ClusterIP != "None" {
			t.Errorf("Service %s is not headless: it would route to the admin port", s.Metadata.Name)
		}
		for k, v := range match {
			if s.Metadata.Labels[k] != v {
				t.Errorf("ServiceMonitor does not select Service %s", s.Metadata.Name)
			}
		}
		app, _ := s.Spec.Selector["app"].(string)
		want := adminPort[app]
		if want == 0 || len(s.Spec.Ports) != 1 || s.Spec.Ports[0]["port"] != want || s.Spec.Ports[0]["name"] != "admin" {
			t.Errorf("Service %s: selector app=%q ports %v; the pods' admin port is %d", s.Metadata.Name, app, s.Spec.Ports, want)
		}
	}
}
