package worker

import (
	"regexp"
	"sync"
)

// maxErrorKinds bounds the distinct causes a worker reports; the rest are
// folded into "other", so 10,000 failing devices cannot make a huge report.
const maxErrorKinds = 16

var addrPattern = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:\d+|\[[0-9a-f:]+\]:\d+`)

// errorCounts counts errors by message with addresses blanked, since
// "dial 127.0.0.5:41234->..." differs per device but is one cause.
type errorCounts struct {
	mu sync.Mutex
	m  map[string]int
}

func (e *errorCounts) add(err error) {
	msg := addrPattern.ReplaceAllString(err.Error(), "ADDR")
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]int{}
	}
	if _, ok := e.m[msg]; !ok && len(e.m) >= maxErrorKinds {
		msg = "other"
	}
	e.m[msg]++
}

func (e *errorCounts) snapshot() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.m) == 0 {
		return nil
	}
	out := make(map[string]int, len(e.m))
	for k, v := range e.m {
		out[k] = v
	}
	return out
}
