package chaos

import "testing"

func TestLevelMsg(t *testing.T) {
	cases := []struct{ line, level, msg string }{
		{`time=2026-12-06T06:36:03Z level=WARN msg="job: edge is down, giving up" edge=edge-2`, "WARN", `"job: edge is down, giving up"`},
		{`time=x level=ERROR msg=boom err=x`, "ERROR", "boom"},
		{`{"time":"x","level":"WARN","msg":"keys push dropped","edge":"edge-2"}`, "WARN", `"keys push dropped"`},
		{`time=x level=INFO msg="closing connections"`, "", ""},
	}
	for _, c := range cases {
		m := levelMsg.FindStringSubmatch(c.line)
		if c.level == "" {
			if m != nil {
				t.Errorf("%s: matched %q", c.line, m)
			}
			continue
		}
		if m == nil || m[1] != c.level || m[2]+m[3] != c.msg {
			t.Errorf("%s: got %q, want %s %s", c.line, m, c.level, c.msg)
		}
	}
}
