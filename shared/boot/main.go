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

	"github.com/elmcity/elmcity/shared/probe"
)

// Main is what a role's main does: a context cancelled by SIGINT or
// SIGTERM, the `healthcheck` subcommand that container health checks run
// (GET /healthz on the address in addrVar, else addrDefault; the images
// have no curl), then run, exiting 1 with one JSON error line if it fails.
func Main(name, addrVar, addrDefault string, run func(ctx context.Context, getenv func(string) string, stdout io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		if err := probe.Check(ctx, cmp.Or(os.Getenv(addrVar), addrDefault)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			stop()
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error(name+" stopped", "error", err.Error())
		stop()
		os.Exit(1)
	}
}
