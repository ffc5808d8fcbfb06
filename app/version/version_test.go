package version

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestGetPrefersLinkerValues: -X values win; the toolchain's vcs settings
// fill what the linker left empty; nothing known reads "unknown".
func TestGetPrefersLinkerValues(t *testing.T) {
	saved := [3]string{Version, Commit, BuildTime}
	t.Cleanup(func() { Version, Commit, BuildTime = saved[0], saved[1], saved[2] })
	bi := &debug.BuildInfo{Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}

	Version, Commit, BuildTime = "v1.2.3", "feedbeef", "2026-12-06T09:00:00Z"
	if in := get(bi); in.Version != "v1.2.3" || in.Commit != "feedbeef" || in.Modified || in.BuildTime != "2026-12-06T09:00:00Z" {
		t.Fatalf("with -X values: %+v", in)
	}
	Version, Commit, BuildTime = "dev", "", ""
	in := get(bi)
	if in.Commit != "0123abcd" || !in.Modified || in.BuildTime != "2026-12-01T10:00:00Z (commit time)" {
		t.Fatalf("from vcs settings: %+v", in)
	}
	s := in.String()
	for _, want := range []string{"goim-edge dev\n", "commit:  0123abcd (modified)\n", "go:      " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n", "built:   2026-12-01T10:00:00Z (commit time)\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() = %q, want it to contain %q", s, want)
		}
	}
	if in := get(nil); in.Commit != "unknown" || in.BuildTime != "unknown" || in.GoVersion != runtime.Version() {
		t.Fatalf("without build info: %+v", in)
	}
}
