package scenario

import (
	"strings"
	"testing"
)

func TestRecoverySet(t *testing.T) {
	full := RecoverySet(false)
	want := []struct {
		scenario, label string
		history, resume bool
	}{
		{RoomFanout, "history off", false, false},
		{RoomFanout, "history on", true, false},
		{RoomFanout, "positioned devices, history on", true, true},
		{ResumeStorm, "100 missed messages", true, true},
	}
	if len(full) != len(want) {
		t.Fatalf("%d runs", len(full))
	}
	for i, w := range want {
		r := full[i]
		o := r.Options
		o.Defaults()
		if o.Scenario != w.scenario || r.History != w.history || o.Resume != w.resume || !strings.HasSuffix(o.Label, w.label) || o.Conns != 10000 {
			t.Errorf("run %d: %+v history %v, want %+v", i, o, r.History, w)
		}
		if o.Scenario == RoomFanout && (o.Rate != 40 || o.Duration.Seconds() != 20) {
			t.Errorf("run %d: %g msgs/s for %v", i, o.Rate, o.Duration)
		}
	}
	for _, r := range RecoverySet(true) {
		if r.Options.Conns != 200 || r.Options.Procs != 0 {
			t.Errorf("quick %s: %d conns in %d procs", r.Options.Label, r.Options.Conns, r.Options.Procs)
		}
	}
	o := Options{Scenario: ResumeStorm, Room: "live://7", Messages: 300}
	if got := HistoryConfig(RoomType(o), HistorySize(o)); !strings.Contains(got, `type = "live"`) || !strings.Contains(got, "size = 300") {
		t.Fatalf("config:\n%s", got)
	}
}

func TestQuickShrinksDefaults(t *testing.T) {
	o := Options{Scenario: ResumeStorm, TCPAddr: "127.0.0.1:1", Procs: -1}
	Quick(&o)
	if o.Conns != 200 || o.Procs != 0 || o.Duration != 0 {
		t.Fatalf("%+v", o)
	}
	o = Options{Scenario: RoomFanout, TCPAddr: "127.0.0.1:1", Conns: 10000, Procs: -1}
	Quick(&o)
	if o.Conns != 200 || o.Duration.Seconds() != 3 {
		t.Fatalf("%+v", o)
	}
}
