package boot

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"github.com/elmcity/elmcity/shared/envconfig"
	"github.com/elmcity/elmcity/shared/probe"
)

// Command is a subcommand of a role's binary, for its usage.
type Command struct {
	Usage string // "check [flags] FILE|URL"
	What  string // one line
}

// Program describes a role's binary: its name, what it does, the address
// its healthcheck asks, its subcommands besides serving and the
// variables it reads.
type Program struct {
	Name    string
	Summary string
	// AddrVar names the variable with the address `healthcheck` asks for
	// GET /healthz; AddrDefault is its default.
	AddrVar, AddrDefault string
	Commands             []Command
	// Vars lists the variables the role reads, with their defaults (the
	// role's loadConfig over an empty environment).
	Vars func() []envconfig.Var
}

// Main is what a role's main does: `help` (or -h, --help) prints the
// usage and exits, `healthcheck` asks GET /healthz on the role's address
// (container health checks: the images have no curl), any other argument
// is an error; with none, run serves under a context cancelled by SIGINT
// or SIGTERM, exiting 1 with one JSON error line if it fails.
func Main(p Program, run func(ctx context.Context, getenv func(string) string, stdout io.Writer) error) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "help", "-h", "-help", "--help":
			Usage(os.Stdout, p)
			return
		case "healthcheck":
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			err := probe.Check(ctx, cmp.Or(os.Getenv(p.AddrVar), p.AddrDefault))
			stop()
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			return
		default:
			fmt.Fprintf(os.Stderr, "%s: unknown command %q\n\n", p.Name, os.Args[1])
			Usage(os.Stderr, p)
			os.Exit(2)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error(p.Name+" stopped", "error", err.Error())
		stop()
		os.Exit(1)
	}
}

// Usage writes the role's usage: its commands and the variables it reads.
func Usage(w io.Writer, p Program) {
	fmt.Fprintf(w, "%s: %s\n\nUsage:\n", p.Name, p.Summary)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  %s\tserve, configured by the environment (below), until SIGINT or SIGTERM\n", p.Name)
	for _, c := range p.Commands {
		fmt.Fprintf(tw, "  %s %s\t%s\n", p.Name, c.Usage, c.What)
	}
	fmt.Fprintf(tw, "  %s healthcheck\texit 0 if GET /healthz on %s answers 200, else 1\n", p.Name, p.AddrVar)
	fmt.Fprintf(tw, "  %s help\tthis text\n", p.Name)
	_ = tw.Flush()
	if p.Vars == nil {
		return
	}
	fmt.Fprintf(w, "\nEnvironment (default in brackets):\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, v := range p.Vars() {
		def := ""
		if v.Default != "" && !v.Secret {
			def = " [" + v.Default + "]"
		}
		fmt.Fprintf(tw, "  %s\t%s%s\n", v.Name, v.Doc, def)
	}
	_ = tw.Flush()
}
