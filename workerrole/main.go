// Command workerrole consumes elmcity's aggregation jobs from the Azure
// Storage queue and runs the scheduler and maintenance scripts.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/elmcity/elmcity/shared/azstorage"
	"github.com/elmcity/elmcity/shared/probe"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/tablelog"
	"github.com/elmcity/elmcity/workerrole/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && (os.Args[1] == "expand" || os.Args[1] == "check") {
		// Curator tools: expand a feed's occurrences, or report its problems.
		run := cli.Expand
		if os.Args[1] == "check" {
			run = cli.Check
		}
		if err := run(ctx, os.Args[2:], os.Stdin, os.Stdout, os.Stderr); err != nil {
			if !errors.Is(err, cli.ErrUsage) {
				fmt.Fprintln(os.Stderr, "workerrole "+os.Args[1]+":", err)
			}
			stop()
			os.Exit(2)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		// Container health checks: the image has no curl.
		if err := probe.Check(ctx, cmp.Or(os.Getenv("ELMCITY_WORKER_METRICS_ADDR"), "127.0.0.1:9090")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("workerrole stopped", "error", err)
		stop()
		os.Exit(1)
	}
}

// run wires the worker by hand, in dependency order, and works until ctx is
// cancelled; then it stops its probe server, flushes the table log and
// returns.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, _, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	console := slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})
	boot := slog.New(console).With("role", "workerrole", "instance", cfg.Instance)
	boot.InfoContext(ctx, "workerrole starting", "config", fmt.Sprintf("%+v", cfg))

	acct, err := azstorage.Open(cfg.Storage.Reveal(), azstorage.Options{})
	if err != nil {
		return fmt.Errorf("open storage: %w", err)
	}
	if err := acct.WaitReady(ctx, cfg.StartupTimeout); err != nil {
		return err
	}
	tlog, err := tablelog.Open(ctx, acct, tablelog.Config{
		Table: cfg.LogTable, Role: "workerrole", Instance: cfg.Instance, Logger: boot,
	})
	if err != nil {
		return fmt.Errorf("open table log: %w", err)
	}
	defer func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		if err := tlog.Close(fctx); err != nil {
			boot.Error("table log flush failed", "error", err)
		}
	}()
	log := slog.New(slog.NewMultiHandler(console, tlog.Handler(tablelog.HandlerOptions{}))).
		With("role", "workerrole", "instance", cfg.Instance)

	jobs, err := queue.Open(ctx, acct, queue.Config{
		Name:              cfg.JobQueue,
		MaxDequeueCount:   int64(cfg.MaxDequeueCount),
		VisibilityTimeout: cfg.VisibilityTimeout,
		Logger:            log,
	})
	if err != nil {
		return fmt.Errorf("open job queue: %w", err)
	}

	probe := &http.Server{
		Handler:           probeHandler(acct.Ping, jobs.Length),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(console, slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.MetricsAddr, err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- probe.Serve(ln) }()
	log.InfoContext(ctx, "listening", "addr", ln.Addr().String(), "queue", jobs.Name())

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve probes: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := probe.Shutdown(sctx); err != nil {
		_ = probe.Close()
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve probes: %w", err)
	}
	log.Info("stopped")
	return nil
}

// probeHandler serves /healthz (the process is up), /readyz (storage
// answers) and /queue (the approximate job queue length, for operators).
func probeHandler(ready func(context.Context) error, length func(context.Context) (int, error)) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, `{"error":{"code":"not_ready","message":"storage is not reachable"}}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"status":"ready"}`)
	})
	mux.HandleFunc("GET /queue", func(w http.ResponseWriter, r *http.Request) {
		n, err := length(r.Context())
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, `{"error":{"code":"not_ready","message":"queue is not reachable"}}`)
			return
		}
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"approximate_length":%d}`, n))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
