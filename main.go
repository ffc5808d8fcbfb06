// Command goim-edge is the push gateway: edge, logic and job in one binary.
// Run it without arguments for standalone mode on goim's default ports;
// `goim-edge help` lists the subcommands.
package main

import (
	"os"

	"github.com/goim-edge/goim-edge/app"
)

func main() {
	os.Exit(app.Main(os.Args[1:], os.Stdout, os.Stderr))
}
