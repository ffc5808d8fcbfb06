package report

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/goim-edge/goim-edge/bench/hist"
)

// Markdown renders the human summary. Charts are linked by the file names
// Write gives them.
func Markdown(r *Report) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", orDash(r.Title))
	fmt.Fprintf(&b, "Generated %s", r.GeneratedAt.UTC().Format(time.RFC3339))
	if r.Server != "" {
		fmt.Fprintf(&b, " against %s", r.Server)
	}
	b.WriteString(".\n\n")
	if r.Command != "" {
		fmt.Fprintf(&b, "Command: `%s`\n\n", r.Command)
	}

	m := r.Machine
	b.WriteString("## Machine\n\n| OS | kernel | CPU | cores | memory | Go | open files |\n|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| %s/%s | %s | %s | %d | %s | %s | %d |\n\n", m.OS, m.Arch, cell(m.Kernel), cell(m.CPUModel), m.CPUs, bytesHuman(float64(m.MemTotal)), m.GoVersion, m.OpenFiles)
	b.WriteString("Server and load share this machine: every figure includes the bench's own CPU use.\n\n")

	var targets []string
	for _, res := range r.Results {
		for _, t := range res.Targets {
			verdict := "missed"
			if t.Met {
				verdict = "met"
			}
			targets = append(targets, fmt.Sprintf("| %s | %s | %s | %s | %s |", cell(res.Label), cell(t.Name), cell(t.Want), cell(t.Got), verdict))
		}
	}
	if len(targets) > 0 {
		b.WriteString("## Targets\n\nReported, not asserted.\n\n| run | target | want | got | |\n|---|---|---|---|---|\n")
		b.WriteString(strings.Join(targets, "\n"))
		b.WriteString("\n\n")
	}

	b.WriteString("## Summary\n\n| run | connections | delivered | latency p50 / p99 / p99.9 | throughput | server CPU |\n|---|---|---|---|---|---|\n")
	for _, res := range r.Results {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", cell(res.Label), connCell(res.Connections), deliveryCell(&res), latencyCell(res.Latency), throughputCell(res.Throughput), serverCell(&res))
	}
	b.WriteString("\n")

	if pts := Scaling(r); pts != nil {
		scalingSection(&b, pts)
	}
	for i := range r.Results {
		section(&b, i, &r.Results[i])
	}
	return b.Bytes()
}

func section(b *bytes.Buffer, i int, res *Result) {
	fmt.Fprintf(b, "## %d. %s\n\n", i+1, cell(res.Label))
	if len(res.Params) > 0 {
		keys := make([]string, 0, len(res.Params))
		for k := range res.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for j, k := range keys {
			parts[j] = fmt.Sprintf("%s=%s", k, res.Params[k])
		}
		fmt.Fprintf(b, "Parameters: `%s`. Took %.1f s; load average %.2f at start.\n\n", strings.Join(parts, " "), res.ElapsedSeconds, res.LoadAverage)
	}
	if res.Error != "" {
		fmt.Fprintf(b, "**Did not complete:** %s\n\n", cell(res.Error))
	}
	if Drawable(res) {
		fmt.Fprintf(b, "![%s](%s)\n\n", res.Scenario, ChartName(i, res))
	}
	if c := res.Connections; c != nil {
		fmt.Fprintf(b, "- Connections (%s): %d of %d up, %d failed, %d lost during the run; %.0f connections/s; connect+auth %s; %s, %d source address(es).\n",
			c.Transport, c.Up, c.Target, c.Failed, c.Lost, c.PerSecond, pct(c.Latency), procsText(c.Procs), c.Sources)
		errorsList(b, "connect errors", c.Errors)
	}
	if p := res.Pushes; p != nil {
		fmt.Fprintf(b, "- Pushes (%s via %s): %d attempted at %.4g/s asked, %.4g/s achieved, %d failed, %d behind schedule; request %s.\n",
			p.Kind, p.Via, p.Attempted, p.Rate, p.Achieved, p.Failed, p.Behind, pct(p.Request))
		errorsList(b, "push errors", p.Errors)
	}
	if d := res.Delivery; d != nil {
		fmt.Fprintf(b, "- Delivery: %d of %d expected (%.4f%%), %d missing, %d duplicates, %d extra, %d misrouted; exactly once: %s.\n",
			d.Delivered, d.Expected, 100*d.Ratio, d.Missing, d.Duplicates, d.Extra, d.Misrouted, yesNo(d.Complete))
		if len(d.IncompleteIDs) > 0 {
			fmt.Fprintf(b, "  Incomplete message ids (first %d): %v.\n", len(d.IncompleteIDs), d.IncompleteIDs)
		}
	}
	if res.Latency != nil {
		fmt.Fprintf(b, "- Push → device latency: %s.\n", pct(*res.Latency))
	}
	if res.Reach != nil {
		fmt.Fprintf(b, "- Time to reach every device, per message: %s.\n", pct(*res.Reach))
	}
	if t := res.Throughput; t != nil && len(t.PerSecond) > 0 {
		fmt.Fprintf(b, "- Throughput: peak %s msgs/s, mean %s msgs/s over %d steps of %.3g s", human(t.Peak), human(t.Mean), len(t.PerSecond), t.StepSeconds)
		if t.Offered > 0 {
			fmt.Fprintf(b, "; the pushes offered %s msgs/s", human(t.Offered))
		}
		b.WriteString(".\n")
	}
	if s := res.Server; s != nil {
		fmt.Fprintf(b, "- Server (pid %d): %.2f CPU-seconds", s.PID, s.CPUSeconds)
		if s.DeliveredPerCPUSecond > 0 {
			fmt.Fprintf(b, ", %s deliveries per CPU-second", human(s.DeliveredPerCPUSecond))
		}
		fmt.Fprintf(b, ", RSS %s.\n", bytesHuman(float64(s.RSS)))
	}
	if mem := res.Memory; mem != nil {
		fmt.Fprintf(b, "- Memory for %d connections: RSS %s → %s, **%s per connection**", mem.Conns, bytesHuman(float64(mem.RSSBefore)), bytesHuman(float64(mem.RSSAfter)), bytesHuman(mem.RSSPerConn))
		if mem.HeapKnown {
			fmt.Fprintf(b, "; Go heap in use %s → %s, **%s per connection**", bytesHuman(float64(mem.HeapBefore)), bytesHuman(float64(mem.HeapAfter)), bytesHuman(mem.HeapPerConn))
		} else {
			b.WriteString("; Go heap unknown (no -metrics)")
		}
		b.WriteString(".\n")
	}
	if d := res.Devices; d != nil {
		fmt.Fprintf(b, "- Devices: %d heartbeats (%d failed, %d replies", d.Heartbeats, d.HeartbeatErrors, d.HeartbeatReplies)
		if d.OnlineMax >= 0 {
			fmt.Fprintf(b, ", room online %d–%d", d.OnlineMin, d.OnlineMax)
		}
		fmt.Fprintf(b, "); %d foreign and %d malformed pushes; %s reads", d.Foreign, d.Malformed, human(float64(d.Reads)))
		if d.MessagesPerRead > 0 {
			fmt.Fprintf(b, " (%.2f messages per read)", d.MessagesPerRead)
		}
		fmt.Fprintf(b, "; the device workers used %.2f CPU-seconds.\n", d.BenchCPUSeconds)
		errorsList(b, "connections lost", d.LostErrs)
		if len(d.Duplicates) > 0 {
			b.WriteString("  Duplicate arrivals (first ones):")
			for _, dup := range d.Duplicates {
				fmt.Fprintf(b, " device %d got message %d again %s after its push;", dup.Device, dup.ID, Millis(dup.AfterMs))
			}
			b.WriteString("\n")
		}
	}
	if r := res.Resume; r != nil {
		resumeLines(b, r)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(b, "- Note: %s\n", cell(n))
	}
	b.WriteString("\n")
	if res.Cost != nil {
		costTable(b, res.Cost)
	}
}

func resumeLines(b *bytes.Buffer, r *Resume) {
	if r.Reconnected > 0 {
		fmt.Fprintf(b, "- Recovery: **%d of %d reconnected devices recovered all %d missed messages**", r.Complete, r.Reconnected, r.Expect)
		if r.AllSeconds > 0 {
			fmt.Fprintf(b, ", all of them within **%.2f s** of the first reconnect", r.AllSeconds)
		}
		if r.Latency != nil {
			fmt.Fprintf(b, "; per device, reconnect to verdict: %s", pct(*r.Latency))
		}
		b.WriteString(".\n")
		errorsList(b, "not recovered", r.NotRecovered)
		if c := r.Reconnect; c != nil {
			fmt.Fprintf(b, "- Reconnects: %d up, %d failed; %.0f connections/s", c.Up, c.Failed, c.PerSecond)
			if c.PerSecond > 0 {
				fmt.Fprintf(b, " (first dial to last auth reply: %.2f s)", float64(c.Up)/c.PerSecond)
			}
			fmt.Fprintf(b, "; connect+auth %s.\n", pct(c.Latency))
			errorsList(b, "reconnect errors", c.Errors)
		}
	}
	fmt.Fprintf(b, "- Positioned devices: %s op-28 frames, %s messages recovered by verdicts.\n", human(float64(r.Positioned)), human(float64(r.Messages)))
	errorsList(b, "verdicts", r.Verdicts)
}

func errorsList(b *bytes.Buffer, what string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || (m[keys[i]] == m[keys[j]] && keys[i] < keys[j]) })
	fmt.Fprintf(b, "  %s:", what)
	for _, k := range keys {
		fmt.Fprintf(b, " %d × `%s`;", m[k], strings.ReplaceAll(k, "`", "'"))
	}
	b.WriteString("\n")
}

func pct(s hist.Summary) string {
	if s.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s, p99 %s, p99.9 %s, max %s (%s samples)", Millis(s.P50Ms), Millis(s.P99Ms), Millis(s.P999Ms), Millis(s.MaxMs), human(float64(s.Count)))
}

func connCell(c *Connections) string {
	if c == nil {
		return "–"
	}
	return fmt.Sprintf("%d/%d %s", c.Up, c.Target, c.Transport)
}

func deliveryCell(r *Result) string {
	if d := r.Delivery; d != nil {
		s := fmt.Sprintf("%.4f%%", 100*d.Ratio)
		if d.Duplicates > 0 || d.Extra > 0 || d.Misrouted > 0 {
			s += fmt.Sprintf(" (%d dup, %d extra, %d misrouted)", d.Duplicates, d.Extra, d.Misrouted)
		}
		return s
	}
	if m := r.Memory; m != nil {
		s := bytesHuman(m.RSSPerConn) + " RSS/conn"
		if m.HeapKnown {
			s += ", " + bytesHuman(m.HeapPerConn) + " heap/conn"
		}
		return s
	}
	return "–"
}

func latencyCell(s *hist.Summary) string {
	if s == nil || s.Count == 0 {
		return "–"
	}
	return fmt.Sprintf("%s / %s / %s", Millis(s.P50Ms), Millis(s.P99Ms), Millis(s.P999Ms))
}

func throughputCell(t *Series) string {
	if t == nil || len(t.PerSecond) == 0 {
		return "–"
	}
	return fmt.Sprintf("%s msgs/s mean, %s peak", human(t.Mean), human(t.Peak))
}

func serverCell(r *Result) string {
	if c := r.Cost; c != nil {
		var cpu float64
		for _, role := range c.Roles {
			cpu += role.CPUSeconds
		}
		if c.Delivered > 0 && cpu > 0 {
			return fmt.Sprintf("%.2f s all roles, %s msgs/CPU-s", cpu, human(float64(c.Delivered)/cpu))
		}
		return fmt.Sprintf("%.2f s all roles", cpu)
	}
	s := r.Server
	if s == nil {
		return "–"
	}
	if s.DeliveredPerCPUSecond > 0 {
		return fmt.Sprintf("%.2f s, %s msgs/CPU-s", s.CPUSeconds, human(s.DeliveredPerCPUSecond))
	}
	return fmt.Sprintf("%.2f s", s.CPUSeconds)
}

func bytesHuman(v float64) string {
	switch {
	case v >= 1<<30:
		return fmt.Sprintf("%.2f GiB", v/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%.2f KiB", v/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", v)
	}
}

// cell keeps a value from breaking a Markdown table row.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func procsText(n int) string {
	if n <= 0 {
		return "devices in the bench process"
	}
	return fmt.Sprintf("%d worker process(es)", n)
}
