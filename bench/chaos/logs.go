package chaos

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// logMarks is how much each goim-edge process has logged so far.
func (c *Cluster) logMarks() map[string]int {
	m := map[string]int{}
	for _, s := range c.all()[2:] {
		m[s.Name] = len(s.Log())
	}
	return m
}

// levelMsg finds the level and message of a log line in slog's text or
// JSON format.
var levelMsg = regexp.MustCompile(`(?:level=|"level":")(WARN|ERROR)"?.*?(?:msg=("(?:[^"\\]|\\.)*"|\S+)|"msg":("(?:[^"\\]|\\.)*"))`)

// digits are replaced by N so that messages differing only in ports,
// addresses or counts group together.
var digits = regexp.MustCompile(`[0-9]+`)

// complaints summarises the warnings and errors each process logged since
// marks (from the start of a process that was restarted meanwhile): how
// many, and the most frequent messages. They say why a push was lost.
func (c *Cluster) complaints(marks map[string]int) []string {
	var out []string
	for _, s := range c.all()[2:] {
		log := s.Log()
		if from := marks[s.Name]; from <= len(log) {
			log = log[from:]
		}
		counts := map[string]int{}
		total := 0
		for _, line := range strings.Split(log, "\n") {
			m := levelMsg.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			total++
			msg := digits.ReplaceAllString(strings.Trim(m[2]+m[3], `"`), "N")
			counts[m[1]+" "+msg]++
		}
		if total == 0 {
			continue
		}
		type kv struct {
			k string
			v int
		}
		var top []kv
		for k, v := range counts {
			top = append(top, kv{k, v})
		}
		sort.Slice(top, func(i, j int) bool { return top[i].v > top[j].v || top[i].v == top[j].v && top[i].k < top[j].k })
		var parts []string
		for i, x := range top {
			if i == 3 {
				parts = append(parts, fmt.Sprintf("%d more kinds", len(top)-3))
				break
			}
			parts = append(parts, fmt.Sprintf("%d× %q", x.v, x.k))
		}
		out = append(out, fmt.Sprintf("%s logged %d warnings/errors: %s", s.Name, total, strings.Join(parts, ", ")))
	}
	return out
}
