package chaos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Report is one run of the suite.
type Report struct {
	Mode     string    `json:"mode"` // reduced or full
	Started  time.Time `json:"started"`
	Commit   string    `json:"commit,omitempty"`
	Devices  int       `json:"devices"`
	Rate     int       `json:"rate_per_s"`
	LeaseTTL string    `json:"lease_ttl"`
	Grace    string    `json:"grace"`
	CPUs     int       `json:"cpus"`
	// LoadAvg is /proc/loadavg at the start: the machine is shared.
	LoadAvg string   `json:"loadavg,omitempty"`
	Results []Result `json:"results"`
}

// Write puts report.md and report.json in dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("chaos: report dir: %w", err)
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("chaos: report json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(j, '\n'), 0o644); err != nil {
		return fmt.Errorf("chaos: write report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), r.Markdown(), 0o644); err != nil {
		return fmt.Errorf("chaos: write report: %w", err)
	}
	return nil
}

// Markdown is the report as a table, one row per scenario, and notes.
func (r *Report) Markdown() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Fault suite (%s run)\n\n", r.Mode)
	fmt.Fprintf(&b, "%s · commit %s · %d CPUs (load average at start %s) · %d devices on two edges · %d pushes/s (by mid, by key, to a room in turn) · lease_ttl %s · grace %s\n\n",
		r.Started.UTC().Format(time.RFC3339), orDash(r.Commit), r.CPUs, orDash(r.LoadAvg), r.Devices, r.Rate, r.LeaseTTL, r.Grace)
	b.WriteString("A pair is one (push, recipient device). *Lost* counts accepted pairs whose device stayed connected " +
		"(authenticated before the push was sent, still connected `grace` after it was answered) and never got it. " +
		"*Outside* are pairs addressed to devices whose connection ended around the push (a killed or draining edge), " +
		"with how many of those arrived anyway. Duplicates count pushes by key and mid (room duplicates in the notes). " +
		"Latency is from sending the push to its first arrival, for pushes sent from the fault's start to the end of traffic.\n\n")
	b.WriteString("| scenario | sent | accepted | refused/errors | pairs expected | delivered | lost | duplicated | outside (delivered) | p50 ms | p99 ms | verdict |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, x := range r.Results {
		verdict := "pass"
		if !x.Pass {
			verdict = "**FAIL**"
		}
		if x.Pending {
			verdict += " (pending)"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d/%d | %d | %d | %d | %d | %d (%d) | %.1f | %.1f | %s |\n",
			x.Scenario, x.Sent, x.Accepted, x.Refused, x.Errors, x.Expected, x.Delivered, x.Lost, x.Duplicated,
			x.Outside, x.OutsideDelivered, x.P50ms, x.P99ms, verdict)
	}
	b.WriteString("\n## Scenarios\n\n")
	for _, x := range r.Results {
		fmt.Fprintf(&b, "### %s\n\n- depends on: %s\n", x.Scenario, x.Bullet)
		for _, n := range x.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		if x.Lost > 0 {
			fmt.Fprintf(&b, "- lost by kind: %s\n", kinds(x.LostByKind))
		}
		if x.RoomDuplicated > 0 {
			fmt.Fprintf(&b, "- room pairs delivered more than once: %d\n", x.RoomDuplicated)
		}
		if x.Skipped > 0 {
			fmt.Fprintf(&b, "- pusher skipped %d ticks (%d pushes unanswered at once)\n", x.Skipped, maxInflight)
		}
		for _, f := range x.Failures {
			fmt.Fprintf(&b, "- **fails:** %s\n", f)
		}
		for _, l := range x.Logs {
			fmt.Fprintf(&b, "- %s\n", l)
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

func kinds(m map[string]int) string {
	var parts []string
	for _, k := range []string{"mids", "keys", "room"} {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newReport(mode string, t Timing, commit string) *Report {
	return &Report{
		Mode: mode, Started: time.Now(), Commit: commit, Devices: t.Devices, Rate: t.Rate,
		LeaseTTL: t.Settings.LeaseTTL.String(), Grace: t.Grace.String(), CPUs: runtime.NumCPU(), LoadAvg: loadAvg(),
	}
}

// loadAvg is the 1, 5 and 15 minute load averages ("" off Linux).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
