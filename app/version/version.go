// Package version holds what the binary knows about its build: the
// version, commit and build time the Makefile stamps in with -ldflags -X,
// else what the Go toolchain recorded (debug.ReadBuildInfo's vcs
// settings, present when built inside a git checkout with -buildvcs).
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set at link time with -X; empty Commit and BuildTime fall back to the
// toolchain's vcs settings.
var (
	// Version is the release or `git describe` name.
	Version = "dev"
	// Commit is the git revision the binary was built from.
	Commit = ""
	// BuildTime is when the binary was built (RFC 3339, UTC).
	BuildTime = ""
)

// Info is the build description printed by `goim-edge version`.
type Info struct {
	Version   string
	Commit    string // "unknown" when neither -X nor vcs settings say
	Modified  bool   // built from a tree with uncommitted changes (vcs only)
	GoVersion string
	Platform  string // GOOS/GOARCH
	BuildTime string // with vcs settings only, the commit's time
}

// Get describes this binary.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return get(bi)
}

func get(bi *debug.BuildInfo) Info {
	in := Info{
		Version:   Version,
		Commit:    Commit,
		BuildTime: BuildTime,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi != nil {
		vcs := map[string]string{}
		for _, s := range bi.Settings {
			vcs[s.Key] = s.Value
		}
		if in.Commit == "" {
			in.Commit = vcs["vcs.revision"]
			in.Modified = vcs["vcs.modified"] == "true"
		}
		if in.BuildTime == "" && vcs["vcs.time"] != "" {
			in.BuildTime = vcs["vcs.time"] + " (commit time)"
		}
		if in.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version // go install module@version
		}
	}
	if in.Commit == "" {
		in.Commit = "unknown"
	}
	if in.BuildTime == "" {
		in.BuildTime = "unknown"
	}
	return in
}

// String is the multi-line form `goim-edge version` prints.
func (in Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "goim-edge %s\n", in.Version)
	commit := in.Commit
	if in.Modified {
		commit += " (modified)"
	}
	fmt.Fprintf(&b, "  commit:  %s\n", commit)
	fmt.Fprintf(&b, "  go:      %s %s\n", in.GoVersion, in.Platform)
	fmt.Fprintf(&b, "  built:   %s\n", in.BuildTime)
	return b.String()
}
