package testenv

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// ProgramSpec describes any long-running program a test owns, such as the
// goim-edge binary in one of its roles.
type ProgramSpec struct {
	// Name labels the process in errors.
	Name string
	// Bin is the executable's path.
	Bin string
	// Args are its arguments; they are the same on every Start.
	Args []string
	// Env is its whole environment (nil: the test's).
	Env []string
	// ReadyURL answers HTTP 200 once the program serves.
	ReadyURL string
}

// Program starts spec's program, waits until ReadyURL answers 200, and
// kills it at cleanup. Stop, Kill, Start and Signal work as for redis and
// etcd; Addr is ReadyURL. It returns the start error (with the program's
// output) rather than failing, so a caller can retry a lost port race.
func Program(tb testing.TB, spec ProgramSpec) (*Server, error) {
	tb.Helper()
	s := &Server{
		Name:  spec.Name,
		Addr:  spec.ReadyURL,
		Dir:   tb.TempDir(),
		bin:   spec.Bin,
		env:   spec.Env,
		ready: httpOK,
	}
	s.args = func() []string { return spec.Args }
	tb.Cleanup(s.Kill)
	return s, s.Start()
}

func httpOK(rawURL string) error {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(rawURL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", rawURL, resp.StatusCode, body)
	}
	return nil
}
