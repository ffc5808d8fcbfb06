// Command goim-edge is the push gateway: edge, logic and job in one binary.
package main

import (
	"fmt"
	"os"

	"github.com/goim-edge/goim-edge/internal/version"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println("goim-edge", version.Version)
		return
	}
	fmt.Fprintln(os.Stderr, "goim-edge: roles are being wired; see README")
	os.Exit(2)
}
