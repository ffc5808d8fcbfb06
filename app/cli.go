// Package app is the goim-edge command: subcommands, configuration loading,
// logging setup, and the wiring of each role (standalone, edge, logic, job)
// with graceful shutdown.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/goim-edge/goim-edge/app/version"
	"github.com/goim-edge/goim-edge/config"
)

const usage = `goim-edge: a goim-compatible push gateway on CloudWeGo.

Usage:
  goim-edge [standalone] [flags]     edge + logic + job in one process (memory store and queue)
  goim-edge edge   [flags]           device connections (TCP, WebSocket) and the Edge RPC service
  goim-edge logic  [flags]           auth, routes, online counts, HTTP and Kitex push APIs
  goim-edge job    [flags]           queue consumer fanning pushes out to edges
  goim-edge version | --version      print version, commit, Go version and build time
  goim-edge config check FILE [-role ROLE]   validate a config file
  goim-edge config print [flags] [-role ROLE] print the effective config as TOML
  goim-edge config keys              list every key with its environment variable

Flags of the role commands:
  -config FILE        TOML config (default $GOIM_CONFIG; none: built-in defaults)
  -set key=value      override one key, e.g. -set edge.tcp_addr=:3101 (repeatable)
  -log-level LEVEL    debug, info, warn, error (same as -set log.level=LEVEL)
  -log-format FORMAT  text or json

Priority: defaults < config file < environment (GOIM_<SECTION>_<KEY>) < flags.
`

// errUsage marks a command-line mistake; Main prints the usage for it.
var errUsage = errors.New("usage")

// Main runs the command line args (without the program name) and returns
// the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// After the first signal, restore the default action: a second
	// SIGINT/SIGTERM ends a shutdown that takes too long at once.
	go func() { <-ctx.Done(); stop() }()
	err := run(ctx, args, os.Environ(), stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "goim-edge: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "goim-edge: %v\n", err)
		return 1
	}
}

func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	cmd := config.RoleStandalone
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args[0] = "version"
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case config.RoleStandalone, config.RoleEdge, config.RoleLogic, config.RoleJob:
		cfg, err := loadForRole(cmd, args, environ, stderr)
		if err != nil {
			return err
		}
		return runRole(ctx, cmd, cfg, stderr)
	case "version":
		if len(args) > 0 {
			return fmt.Errorf("%w: version takes no arguments", errUsage)
		}
		fmt.Fprint(stdout, version.Get())
		return nil
	case "config":
		return configCmd(args, environ, stdout, stderr)
	case "help", "-h", "--help":
		return flag.ErrHelp
	default:
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
}

// setFlags collects repeated -set key=value flags.
type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, ",") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

// roleFlags are the flags every role command takes.
type roleFlags struct {
	file      string
	sets      setFlags
	logLevel  string
	logFormat string
	role      string
}

func parseRoleFlags(name string, args []string, stderr io.Writer, withRole bool) (*roleFlags, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	rf := &roleFlags{}
	fs.StringVar(&rf.file, "config", "", "TOML config file")
	fs.Var(&rf.sets, "set", "key=value override (repeatable)")
	fs.StringVar(&rf.logLevel, "log-level", "", "debug, info, warn or error")
	fs.StringVar(&rf.logFormat, "log-format", "", "text or json")
	if withRole {
		fs.StringVar(&rf.role, "role", "", "validate for this role too: standalone, edge, logic or job")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%w: %s: %v", errUsage, name, err)
	}
	if rf.logLevel != "" {
		rf.sets = append(rf.sets, "log.level="+rf.logLevel)
	}
	if rf.logFormat != "" {
		rf.sets = append(rf.sets, "log.format="+rf.logFormat)
	}
	return rf, fs.Args(), nil
}

func (rf *roleFlags) options(environ []string) config.Options {
	file := rf.file
	if file == "" {
		for _, kv := range environ {
			if v, ok := strings.CutPrefix(kv, config.EnvConfigFile+"="); ok {
				file = v
			}
		}
	}
	return config.Options{File: file, Environ: environ, Sets: rf.sets}
}

func loadForRole(role string, args, environ []string, stderr io.Writer) (*config.Config, error) {
	rf, rest, err := parseRoleFlags(role, args, stderr, false)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w: %s: unexpected arguments %q", errUsage, role, rest)
	}
	cfg, err := config.Load(rf.options(environ))
	if err != nil {
		return nil, err
	}
	if err := cfg.ValidateRole(role); err != nil {
		return nil, fmt.Errorf("config for %s: %w", role, err)
	}
	return cfg, nil
}

func configCmd(args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: config needs a subcommand: check, print or keys", errUsage)
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "check":
		// Accept the file before or after the flags.
		var file string
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			file, args = args[0], args[1:]
		}
		rf, rest, err := parseRoleFlags("config check", args, stderr, true)
		if err != nil {
			return err
		}
		if file == "" && len(rest) == 1 {
			file, rest = rest[0], nil
		}
		if file == "" || len(rest) > 0 {
			return fmt.Errorf("%w: config check needs exactly one FILE", errUsage)
		}
		cfg, err := config.Check(file)
		if err != nil {
			return err
		}
		if rf.role != "" {
			if err := cfg.ValidateRole(rf.role); err != nil {
				return fmt.Errorf("%s for role %s: %w", file, rf.role, err)
			}
		}
		fmt.Fprintf(stdout, "%s: ok\n", file)
		return nil
	case "print":
		rf, rest, err := parseRoleFlags("config print", args, stderr, true)
		if err != nil {
			return err
		}
		if len(rest) > 0 {
			return fmt.Errorf("%w: config print: unexpected arguments %q", errUsage, rest)
		}
		cfg, err := config.Load(rf.options(environ))
		if err != nil {
			return err
		}
		if rf.role != "" {
			if err := cfg.ValidateRole(rf.role); err != nil {
				return err
			}
		}
		text, err := config.Encode(cfg)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, text)
		return nil
	case "keys":
		keys := config.Keys(config.Default())
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(stdout, "%-45s %s\n", k, config.EnvName(k))
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown config subcommand %q", errUsage, sub)
	}
}
