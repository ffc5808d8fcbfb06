// Package lookbin finds the external server programs (redis-server, etcd)
// that tests and the bench's cluster launcher start: on $PATH, else in the
// usual system folders, which a non-login shell's $PATH may lack
// (Debian installs etcd in /usr/bin, some images keep sbin off $PATH).
// It depends on nothing test-bound, so test helpers and tools share it.
package lookbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Dirs are searched, in order, after $PATH.
var Dirs = []string{"/usr/bin", "/usr/sbin", "/usr/local/bin"}

// Find returns the path of the first of names found on $PATH or in Dirs.
// Its error names what is missing and how `make test` installs it.
func Find(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
		for _, dir := range Dirs {
			p := filepath.Join(dir, n)
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%v not found on $PATH or in %v; run `make test` (deploy/test-deps.sh installs redis-server and etcd-server) or apt-get install them", names, Dirs)
}
