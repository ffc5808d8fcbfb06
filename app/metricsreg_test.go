package app

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metricDesc is one goim_ metric as the process registers it.
type metricDesc struct {
	Name   string
	Type   string // counter, gauge, histogram, summary; "" until observed
	Labels []string
	Help   string
}

// descPattern reads prometheus.Desc.String(), the only public view of a
// registered collector's name, help and labels.
var descPattern = regexp.MustCompile(`^Desc\{fqName: ("(?:[^"\\]|\\.)*"), help: ("(?:[^"\\]|\\.)*"), unit: "[^"]*", constLabels: \{([^}]*)\}, variableLabels: \{([^}]*)\}\}$`)

// registeredMetrics is every goim_ metric in the default Prometheus
// registry, where every package of the binary registers its metrics when
// it is linked in (this test binary links all of them through package
// app). Names, help and labels come from the registry's descriptors, so a
// metric counts even if nothing has touched it yet; the type is only
// visible on metrics with a sample, so it comes from a Gather and stays
// empty for label sets never used.
func registeredMetrics(t *testing.T) map[string]*metricDesc {
	t.Helper()
	reg, ok := prometheus.DefaultRegisterer.(*prometheus.Registry)
	if !ok {
		t.Fatalf("default registerer is %T, not *prometheus.Registry", prometheus.DefaultRegisterer)
	}
	ch := make(chan *prometheus.Desc)
	go func() { reg.Describe(ch); close(ch) }()
	out := map[string]*metricDesc{}
	for d := range ch {
		m := descPattern.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("unreadable descriptor %s", d)
		}
		name, err := strconv.Unquote(m[1])
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, "goim_") {
			continue
		}
		help, err := strconv.Unquote(m[2])
		if err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, s := range []string{m[3], m[4]} {
			for _, l := range strings.Split(s, ",") {
				if l, _, _ = strings.Cut(l, "="); l != "" {
					labels = append(labels, l)
				}
			}
		}
		sort.Strings(labels)
		out[name] = &metricDesc{Name: name, Labels: labels, Help: help}
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if md := out[f.GetName()]; md != nil {
			md.Type = strings.ToLower(dto.MetricType_name[int32(f.GetType())])
		}
	}
	return out
}
