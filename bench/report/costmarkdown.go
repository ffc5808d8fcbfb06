package report

import (
	"bytes"
	"fmt"
)

// costTable renders a cluster run's per-role cost: the table a person
// sizing a deployment reads to see which role pays for what.
func costTable(b *bytes.Buffer, c *Cost) {
	fmt.Fprintf(b, "Server side by role over %s (%.1f s, %d devices", c.Phase, c.Seconds, c.Devices)
	if c.Delivered > 0 {
		fmt.Fprintf(b, ", %d deliveries", c.Delivered)
	}
	b.WriteString("):\n\n| role | processes | RSS | PSS | per process (PSS) | growth per device | Go heap | CPU-s | cores | CPU per delivery |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range c.Roles {
		pss, per := "–", "–"
		if r.PSS > 0 {
			pss = bytesHuman(float64(r.PSS))
			per = bytesHuman(float64(r.PSS) / float64(r.Processes))
		}
		growth := "–"
		if c.Devices > 0 {
			growth = signedBytes(float64(r.RSSGrowth) / float64(c.Devices))
		}
		heap := "–"
		if r.HeapInuse > 0 {
			heap = bytesHuman(float64(r.HeapInuse))
		}
		cores := "–"
		if c.Seconds > 0 {
			cores = fmt.Sprintf("%.2f", r.CPUSeconds/c.Seconds)
		}
		perMsg := "–"
		if c.Delivered > 0 {
			perMsg = micros(r.CPUSeconds / float64(c.Delivered))
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %.2f | %s | %s |\n", cell(r.Role), r.Processes, bytesHuman(float64(r.RSS)), pss, per, growth, heap, r.CPUSeconds, cores, perMsg)
	}
	pssAll := "–"
	if m, ok := c.ServerMemory(); ok {
		pssAll = "**" + bytesHuman(float64(m)) + "**"
	}
	fmt.Fprintf(b, "| **all** | %d | %s | %s | | ", len(c.Processes), bytesHuman(float64(c.ServerRSS())), pssAll)
	if c.Devices > 0 {
		var growth int64
		for _, r := range c.Roles {
			growth += r.RSSGrowth
		}
		fmt.Fprintf(b, "**%s** | | ", signedBytes(float64(growth)/float64(c.Devices)))
	} else {
		b.WriteString("– | | ")
	}
	var cpu float64
	for _, r := range c.Roles {
		cpu += r.CPUSeconds
	}
	fmt.Fprintf(b, "%.2f | ", cpu)
	if c.Seconds > 0 {
		fmt.Fprintf(b, "%.2f | ", cpu/c.Seconds)
	} else {
		b.WriteString("– | ")
	}
	if c.Delivered > 0 {
		fmt.Fprintf(b, "%s |\n", micros(cpu/float64(c.Delivered)))
	} else {
		b.WriteString("– |\n")
	}
	b.WriteString("\n")
	if m, pss := c.ServerMemory(); c.Devices > 0 {
		what := "RSS (PSS unknown)"
		if pss {
			what = "PSS"
		}
		fmt.Fprintf(b, "- Whole server side: %s %s for %d devices, **%s per device** all told (base included).\n", what, bytesHuman(float64(m)), c.Devices, bytesHuman(float64(m)/float64(c.Devices)))
	}
	if r := c.Redis; r != nil {
		fmt.Fprintf(b, "- Redis: used_memory %s (%s over the phase", bytesHuman(float64(r.UsedMemory)), signedBytes(float64(r.UsedMemoryGrowth)))
		if c.Devices > 0 {
			fmt.Fprintf(b, ", %s per device", signedBytes(float64(r.UsedMemoryGrowth)/float64(c.Devices)))
		}
		fmt.Fprintf(b, "), %d keys; %s commands", r.Keys, human(float64(r.Commands)))
		if c.Seconds > 0 {
			fmt.Fprintf(b, " (%s/s)", human(float64(r.Commands)/c.Seconds))
		}
		b.WriteString(".\n")
	}
	if e := c.Etcd; e != nil {
		fmt.Fprintf(b, "- etcd: database %s (%s in use), %d keys, %d watchers.\n", bytesHuman(float64(e.DBSize)), bytesHuman(float64(e.DBSizeInUse)), e.Keys, e.Watchers)
	}
	if m := c.Machine; m != nil {
		fmt.Fprintf(b, "- Machine (load generator included): %s of %s available after the phase, %d TCP sockets; kernel slab %s", bytesHuman(float64(m.Available)), bytesHuman(float64(m.Total)), m.TCPSockets, bytesHuman(float64(m.Slab)))
		fmt.Fprintf(b, " (%s over the phase", signedBytes(float64(c.SlabGrowth)))
		if c.Devices > 0 && c.Delivered == 0 {
			// A connect phase: the growth is the devices' sockets.
			fmt.Fprintf(b, ", %s per device: both ends of its loopback connection", signedBytes(float64(c.SlabGrowth)/float64(c.Devices)))
		}
		b.WriteString(")")
		b.WriteString(".\n")
	}
	for _, n := range c.Notes {
		fmt.Fprintf(b, "- Note: %s\n", cell(n))
	}
	b.WriteString("\n")
}

// signedBytes is bytesHuman with a sign, for growth that may be negative.
func signedBytes(v float64) string {
	if v < 0 {
		return "−" + bytesHuman(-v)
	}
	return bytesHuman(v)
}

// micros formats seconds as microseconds, the unit CPU per message is
// read in.
func micros(sec float64) string {
	if sec >= 1e-3 {
		return Millis(sec * 1e3)
	}
	return fmt.Sprintf("%.3g µs", sec*1e6)
}
